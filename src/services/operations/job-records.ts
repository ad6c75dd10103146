import type { JobName } from "../../domain";
import { describeError, log } from "../../lib/log";
import { count } from "../../lib/metrics";
import type { Database } from "../../stores/postgres/client";
import { insertJobRun, type NewJobRun } from "../../stores/postgres/job-runs";

/** Longest error text kept per run: the cause, not a dump. */
const ERROR_CHARS = 2_000;

/**
 * Runs a cron job and records the run in job_runs, ok or failed. The job's outcome is what the
 * caller gets: its result, or its error rethrown after the failure is recorded. A record that
 * cannot be written is logged and counted (jobRecordFailures) and never fails the job, since the
 * work is done (or failed) either way; a job missing its records shows as degraded soon enough.
 */
export async function runRecorded<T extends object>(
  db: () => Database,
  job: JobName,
  run: () => Promise<T>,
  touched: (result: T) => number,
): Promise<T> {
  const startedAt = new Date();
  let result: T;
  try {
    result = await run();
  } catch (error) {
    await record(db, {
      job,
      startedAt,
      finishedAt: new Date(),
      outcome: "failed",
      touched: null,
      error: describeError(error).slice(0, ERROR_CHARS),
      detail: null,
    });
    throw error;
  }
  await record(db, {
    job,
    startedAt,
    finishedAt: new Date(),
    outcome: "ok",
    touched: touched(result),
    error: null,
    detail: result as Record<string, unknown>,
  });
  return result;
}

async function record(db: () => Database, run: NewJobRun): Promise<void> {
  try {
    await insertJobRun(db(), run);
  } catch (error) {
    count("jobRecordFailures");
    log.error(`cron: the ${run.job} run could not be recorded; its own outcome stands`, {
      outcome: run.outcome,
      error: describeError(error),
    });
  }
}
