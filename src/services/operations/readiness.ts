import { sql } from "drizzle-orm";
import type { JobName } from "../../domain";
import type { AppBindings } from "../../env";
import type { BreakerSnapshot } from "../../lib/circuit-breaker";
import { failedDependency } from "../../lib/dependency-errors";
import { describeError, log } from "../../lib/log";
import { TimeoutError, withTimeout } from "../../lib/timeout";
import { type Database, openDatabase, queryDatabase } from "../../stores/postgres/client";
import { isSchemaMissing, MIGRATE_HINT } from "../../stores/postgres/errors";
import { LATEST_MIGRATION, MIGRATIONS_TABLE } from "../../stores/postgres/schema-version";
import { openRedis, redisBreakerFor } from "../../stores/redis/client";
import { configProblems } from "./config-check";
import { readJobHealth } from "./job-health";

type DependencyStatus =
  | { status: "ok"; required: boolean; latencyMs: number }
  | { status: "down"; required: boolean; latencyMs: number; error: string }
  | { status: "not_configured"; required: boolean }
  | { status: "invalid"; required: boolean; error: string };

/**
 * The cron jobs: "degraded" names each job with no success for twice its period; "unknown" when
 * job_runs could not be read (the database check says why). Never required: see checkReadiness.
 */
type JobsStatus =
  | { status: "ok" | "degraded"; required: false; degraded: JobName[] }
  | { status: "unknown"; required: false };

export interface Readiness {
  ready: boolean;
  checks: {
    config: DependencyStatus;
    database: DependencyStatus;
    redis: DependencyStatus & { circuit?: BreakerSnapshot };
    jobs: JobsStatus;
  };
}

/** Readiness must answer quickly even when a dependency hangs (a load balancer is waiting). */
const CHECK_TIMEOUT_MS = 3_000;

/** A check's public status, and for the log the full error it failed with. */
type Checked = { check: DependencyStatus; detail?: string };

async function timed(
  run: () => Promise<unknown>,
  required: boolean,
  what: string,
): Promise<Checked> {
  const started = performance.now();
  try {
    await withTimeout(run(), CHECK_TIMEOUT_MS, what);
    return {
      check: { status: "ok", required, latencyMs: Math.round(performance.now() - started) },
    };
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started);
    return {
      check: { status: "down", required, latencyMs, error: publicReason(error) },
      detail: describeError(error),
    };
  }
}

/** Which way to a dependency failed: what the readiness body names before the reason. */
class PathFailed extends Error {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super(path, { cause });
    this.path = path;
  }
}

/**
 * What the readiness body says about a failure. The route is public, so it never carries the
 * driver's text (statements, connection details, stacks): our own messages (a migration to run, a
 * timeout) pass, anything else becomes its class. The log line has the whole error.
 */
function publicReason(error: unknown): string {
  if (error instanceof PathFailed) return `${error.path}: ${publicReason(error.cause)}`;
  if (
    error instanceof TimeoutError ||
    (error instanceof Error && error.message.includes(MIGRATE_HINT))
  )
    return error.message;
  return failedDependency(error)
    ? "unreachable or unavailable"
    : "failed (the worker's log has the error)";
}

/**
 * Throws, saying what to run, when the newest migration the database records is older than
 * `needed` (by default the newest this code was built with) or none is recorded. A newer schema
 * passes: migrations only add, so the previous release keeps working during a deploy.
 */
export async function checkSchema(db: Database, needed = LATEST_MIGRATION): Promise<void> {
  let newest: number;
  try {
    const result = await db.execute<{ newest: string | null }>(
      sql.raw(`select max(created_at)::text as newest from ${MIGRATIONS_TABLE}`),
    );
    newest = Number(result.rows[0]?.newest ?? Number.NEGATIVE_INFINITY);
  } catch (error) {
    if (!isSchemaMissing(error)) throw error;
    throw new Error(`no migration applied (${MIGRATE_HINT})`, { cause: error });
  }
  if (!(newest >= needed.when))
    throw new Error(`migrations behind this code, which needs ${needed.tag} (${MIGRATE_HINT})`);
}

/**
 * Runs one real round trip per dependency and path: a query over Neon's HTTP endpoint, as reads
 * make them (which also checks the schema is migrated for this code), a query on a WebSocket
 * session, as queue batches make them, and a PING through @upstash/redis. Postgres is
 * required (system of record); Redis is optional because ranks fall back to Postgres, so a Redis
 * outage reports "down" without making the worker unready. A mistyped [var] makes it unready too.
 * A stale cron job is only reported (checks.jobs): every worker runs the same jobs, so taking them
 * out of rotation would stop the API without bringing a job back; metrics carry it for alerts.
 */
export async function checkReadiness(
  env: AppBindings,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<Readiness> {
  const problems = configProblems(env);
  const config: DependencyStatus =
    problems.length === 0
      ? { status: "ok", required: true, latencyMs: 0 }
      : { status: "invalid", required: true, error: problems.join("; ") };
  if (config.status === "invalid")
    log.error("readiness: configuration invalid", { error: config.error });
  const database = await timed(
    async () => {
      const handle = openDatabase(env, { maxConnections: 1 });
      const where = hostOf(env.DATABASE_URL);
      try {
        await Promise.all([
          checkSchema(queryDatabase(env)).catch((error: unknown) => {
            throw new PathFailed(`HTTP queries to ${where}`, error);
          }),
          handle.db.execute(sql`select 1`).catch((error: unknown) => {
            throw new PathFailed(`WebSocket sessions to ${where}`, error);
          }),
        ]);
      } finally {
        waitUntil(handle.close());
      }
    },
    true,
    "Postgres",
  );
  if (database.check.status === "down") {
    const behind = database.check.error.includes(MIGRATE_HINT);
    log.error(
      behind ? "readiness: database schema not migrated" : "readiness: database unreachable",
      {
        error: database.detail,
        ...(behind
          ? {}
          : {
              hint:
                "check DATABASE_URL " +
                "(and, locally, that `npm run dev` started the database bridge)",
            }),
      },
    );
  }

  const redisClient = openRedis(env);
  const [redis, jobs] = await Promise.all([
    redisClient
      ? timed(() => redisClient.ping(), false, "Upstash Redis")
      : ({ check: { status: "not_configured", required: false } } as Checked),
    database.check.status === "ok"
      ? checkJobs(env, redisClient !== null)
      : ({ status: "unknown", required: false } as const),
  ]);
  if (redis.check.status === "down") {
    log.warn("readiness: redis unreachable, ranks fall back to Postgres", {
      error: redis.detail,
      hint: "check UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN",
    });
  }

  const ready = [config, database.check, redis.check].every(
    (check) => !(check.required && check.status !== "ok"),
  );
  // This isolate's circuit: open means its reads skip Redis right now, whatever the PING says.
  const snapshot = redisClient ? redisBreakerFor(env).snapshot() : undefined;
  const circuit = snapshot
    ? {
        circuit: {
          ...snapshot,
          lastError:
            snapshot.lastError === null ? null : publicReason(new Error(snapshot.lastError)),
        },
      }
    : {};
  return {
    ready,
    checks: { config, database: database.check, redis: { ...redis.check, ...circuit }, jobs },
  };
}

/**
 * Which jobs are degraded now (job_runs, one query). Only names, no times or errors: the route is
 * public, and GET /v1/admin/jobs has the rest.
 */
async function checkJobs(env: AppBindings, redisConfigured: boolean): Promise<JobsStatus> {
  try {
    const health = await withTimeout(
      readJobHealth(queryDatabase(env), { redisConfigured, now: new Date() }),
      CHECK_TIMEOUT_MS,
      "job_runs",
    );
    const degraded = health.filter((h) => h.degraded).map((h) => h.job);
    if (degraded.length > 0) log.warn("readiness: cron jobs degraded", { degraded });
    return { status: degraded.length > 0 ? "degraded" : "ok", required: false, degraded };
  } catch (error) {
    log.error("readiness: job runs unreadable", { error: describeError(error) });
    return { status: "unknown", required: false };
  }
}

/** host:port of a connection string, never its credentials: what an operator checks first. */
function hostOf(databaseUrl: string): string {
  try {
    return new URL(databaseUrl).host || "(no host in DATABASE_URL)";
  } catch {
    return "(DATABASE_URL is not a URL)";
  }
}
