/**
 * The cron jobs whose runs are recorded (job_runs), with the period their trigger in wrangler.toml
 * fires them at. A job is degraded once its last success is older than twice its period: one
 * missed or failed run is normal (a deploy, a transient outage), two in a row is not.
 */
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const JOBS = {
  upkeep: { periodMs: DAY_MS, needsRedis: false },
  "object repairs": { periodMs: MINUTE_MS, needsRedis: false },
  /** Runs only when Upstash is configured: without it there is nothing to reconcile. */
  "rank reconciliation": { periodMs: MINUTE_MS, needsRedis: true },
  rollups: { periodMs: HOUR_MS, needsRedis: false },
  /**
   * The safety net of the tournament clocks' alarms: finalises ended instances they missed; also
   * awards the prizes of boards' ended periods (it is their only trigger).
   */
  "tournament finalisation": { periodMs: MINUTE_MS, needsRedis: false },
} as const satisfies Record<string, { periodMs: number; needsRedis: boolean }>;

export type JobName = keyof typeof JOBS;
export const JOB_NAMES = Object.keys(JOBS) as [JobName, ...JobName[]];

/** The jobs this deployment's cron triggers run: the Redis ones only when Redis is configured. */
export function expectedJobs(redisConfigured: boolean): JobName[] {
  return JOB_NAMES.filter((name) => redisConfigured || !JOBS[name].needsRedis);
}

export interface JobHealth {
  job: JobName;
  periodSeconds: number;
  /** The newest run that ended ok; null: none recorded. */
  lastSuccessAt: Date | null;
  degraded: boolean;
}

/**
 * Whether a job is degraded at `now`. "Never ran" is measured from when records began (the oldest
 * run of any job the table holds), not from the epoch: right after the table is created nothing
 * has run, so nothing is degraded, and each job then has twice its period to succeed once. A job
 * whose trigger never fires, or that fails every time, is degraded from then on. An empty table
 * (no cron has fired since the migration) says nothing yet, so nothing is degraded.
 */
export function jobHealth(
  job: JobName,
  lastSuccessAt: Date | null,
  recordsBegan: Date | null,
  now: Date,
): JobHealth {
  const periodMs = JOBS[job].periodMs;
  const since = lastSuccessAt ?? recordsBegan;
  return {
    job,
    periodSeconds: periodMs / 1000,
    lastSuccessAt,
    degraded: since !== null && now.getTime() - since.getTime() > 2 * periodMs,
  };
}
