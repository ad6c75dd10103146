import { type JobName, parsePastPeriodDays, parseRollupBounds } from "../domain";
import type { AppBindings } from "../env";
import { describeError, log, setLogLevel } from "../lib/log";
import { awardBoardPrizes } from "../services/board-prizes";
import { runRecorded } from "../services/operations/job-records";
import { runRollups } from "../services/operations/rollups";
import { repairObjects } from "../services/projection/object-repairs";
import { finaliseDue } from "../services/tournaments/finalise";
import { storesFor } from "../stores";
import { objectConfig } from "../stores/objects/leaderboard";
import { openDatabase, queryDatabase } from "../stores/postgres/client";
import { type ReconcileResult, reconcileRanks } from "./reconcile-ranks";
import { runUpkeep, type UpkeepResult } from "./upkeep";

/** The daily upkeep trigger in wrangler.toml ("15 3 * * *"). */
const DAILY_UPKEEP_CRON = "15 3 * * *";
/** The every-minute trigger in wrangler.toml: reconciliation of the Redis rank store. */
const RECONCILE_CRON = "* * * * *";
/** The hourly trigger in wrangler.toml: events folded into the rollups (GET /v1/admin/stats). */
const ROLLUP_CRON = "5 * * * *";

/**
 * The worker's scheduled handler: routes each cron expression of wrangler.toml to its job. Jobs
 * are bounded and idempotent (cron may fire twice). Any other trigger only logs, so a cron added
 * to wrangler.toml before its job is harmless.
 */
export async function handleScheduled(
  controller: ScheduledController,
  env: AppBindings,
): Promise<void> {
  setLogLevel(env.LOG_LEVEL);
  if (controller.cron === DAILY_UPKEEP_CRON)
    return runJob(
      env,
      "upkeep",
      "it runs again tomorrow, or fire it by hand",
      (db) => runUpkeep(db, new Date(controller.scheduledTime)),
      upkeepTouched,
    );
  if (controller.cron === ROLLUP_CRON)
    return runJob(
      env,
      "rollups",
      "it runs again next hour, from where the last run stopped",
      (db) =>
        runRollups(db, { now: new Date(controller.scheduledTime), bounds: parseRollupBounds(env) }),
      (r) => r.folded + r.playersPruned,
    );
  if (controller.cron === RECONCILE_CRON) {
    // The HTTP query client stays unused: each job runs on a pool of its own (runJob).
    const { redis, leaderboard } = storesFor(env);
    const repairs = runJob(
      env,
      "object repairs",
      "it runs again next minute",
      (db) => repairObjects(db, env),
      (r) => r.repaired + r.failed + r.dropped,
    );
    const finalisation = runJob(
      env,
      "tournament finalisation",
      "it runs again next minute",
      // Board periods with prizes are finalised by the same job, with the same statement.
      async (db) => ({
        ...(await finaliseDue(db, controller.scheduledTime)),
        boards: await awardBoardPrizes(db, controller.scheduledTime),
      }),
      (r) => r.finalised + r.boards.finalised,
    );
    // Without Upstash every rank beyond the top-N comes from Postgres: nothing to reconcile.
    if (!redis) {
      const [repaired, finalised] = await Promise.allSettled([repairs, finalisation]);
      for (const outcome of [repaired, finalised])
        if (outcome.status === "rejected") throw outcome.reason;
      return;
    }
    const reconcile = runJob(
      env,
      "rank reconciliation",
      "it runs again next minute",
      (db) =>
        reconcileRanks(db, redis, env.REDIS_KEY_PREFIX, new Date(controller.scheduledTime), {
          pastDays: parsePastPeriodDays(env.REDIS_PAST_PERIOD_DAYS),
          watermarkOf: (boardId, periodKey) => leaderboard(boardId, periodKey).watermark(),
          prepareObject: async (board, periodKey) => {
            await leaderboard(board.id, periodKey).rebuild(objectConfig(env, board, periodKey));
          },
        }),
      reconcileTouched,
    );
    const outcomes = await Promise.allSettled([repairs, reconcile, finalisation]);
    for (const outcome of outcomes) if (outcome.status === "rejected") throw outcome.reason;
    return;
  }
  log.info("cron: no job for this trigger yet", { cron: controller.cron });
}

/**
 * One job on its own database handle, its outcome logged either way and recorded in job_runs
 * (with `touched`, the items it worked on); a failure is rethrown. The record goes over the HTTP
 * query client, not the job's session: a job that failed on a broken session still gets its row.
 */
async function runJob<T extends object>(
  env: AppBindings,
  name: JobName,
  whenFailed: string,
  job: (db: ReturnType<typeof openDatabase>["db"]) => Promise<T>,
  touched: (result: T) => number,
): Promise<void> {
  const handle = openDatabase(env, { maxConnections: 1 });
  const started = Date.now();
  try {
    const result = await runRecorded(
      () => queryDatabase(env),
      name,
      () => job(handle.db),
      touched,
    );
    log.info(`cron: ${name} done`, { ...result, ms: Date.now() - started });
  } catch (error) {
    log.error(`cron: ${name} failed; ${whenFailed}`, { error: describeError(error) });
    throw error;
  } finally {
    await handle.close();
  }
}

/** Partitions created and dropped, and rows swept or pruned. */
function upkeepTouched(r: UpkeepResult): number {
  return (
    r.partitionsCreated +
    r.partitionsDropped.length +
    r.eventIdDaysCreated +
    r.eventIdDaysDropped.length +
    r.emptyBandsSwept +
    r.refusalsPruned +
    r.jobRunsPruned
  );
}

/** Board-periods worked on: reloaded, continued, resynced, prepared, dropped or failed. */
function reconcileTouched(r: ReconcileResult): number {
  return (
    r.reloadedCount +
    r.continuedCount +
    r.resyncedCount +
    r.preparedCount +
    r.droppedCount +
    r.failedCount
  );
}
