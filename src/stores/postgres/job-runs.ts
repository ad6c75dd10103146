import { desc, eq, sql } from "drizzle-orm";
import type { Database } from "./client";
import { type JobRun, jobRuns } from "./schema";

export type NewJobRun = Omit<JobRun, "id">;

export async function insertJobRun(db: Database, run: NewJobRun): Promise<void> {
  await db.insert(jobRuns).values(run);
}

/** The newest runs, of one job or of all, newest first. */
export async function recentJobRuns(
  db: Database,
  options: { job?: string | undefined; limit: number },
): Promise<JobRun[]> {
  const query = db.select().from(jobRuns);
  const filtered = options.job ? query.where(eq(jobRuns.job, options.job)) : query;
  return filtered.orderBy(desc(jobRuns.startedAt), desc(jobRuns.id)).limit(options.limit);
}

export interface JobSuccesses {
  /** The oldest run of any job the table holds; null: no run recorded yet. */
  recordsBegan: Date | null;
  /** Each listed job's newest ok run's finish; absent: none recorded. */
  lastSuccess: Map<string, Date>;
}

/**
 * Each job's newest success and when records began, in one statement: one index probe per job
 * (job_runs_job_started_idx, walked from the newest) and one for the oldest row.
 */
export async function jobSuccesses(db: Database, jobs: readonly string[]): Promise<JobSuccesses> {
  if (jobs.length === 0) return { recordsBegan: null, lastSuccess: new Map() };
  const names = sql.join(
    jobs.map((job) => sql`(${job})`),
    sql`, `,
  );
  const result = await db.execute<{
    job: string;
    last_success: string | null;
    began: string | null;
  }>(sql`
    select j.job, s.finished_at as last_success,
           (select min(started_at) from job_runs) as began
    from (values ${names}) as j(job)
    left join lateral (
      select finished_at from job_runs r
      where r.job = j.job and r.outcome = 'ok'
      order by r.started_at desc limit 1
    ) s on true`);
  const began = result.rows[0]?.began;
  return {
    recordsBegan: began ? new Date(began) : null,
    lastSuccess: new Map(
      result.rows.flatMap((r) => (r.last_success ? [[r.job, new Date(r.last_success)]] : [])),
    ),
  };
}

/**
 * Deletes runs started before `before`, at most `limit` of them, but never a job's newest
 * success: with it gone a job failing for longer than the retention would lose when it last
 * worked. Returns the rows deleted.
 */
export async function pruneJobRuns(db: Database, before: Date, limit: number): Promise<number> {
  const result = await db.execute<{ n: string }>(sql`
    with kept as (
      select distinct on (job) id from job_runs where outcome = 'ok' order by job, started_at desc
    ), old as (
      select id from job_runs
      where started_at < ${before.toISOString()}::timestamptz and id not in (select id from kept)
      limit ${limit}
    ), gone as (delete from job_runs r using old where r.id = old.id returning 1)
    select count(*) as n from gone`);
  return Number(result.rows[0]?.n ?? 0);
}
