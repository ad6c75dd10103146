import { parsePastPeriodDays } from "../domain";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { repairObjects } from "../services/projection/object-repairs";
import { storesFor } from "../stores";
import { objectConfig } from "../stores/objects/leaderboard";
import { openDatabase } from "../stores/postgres/client";
import { reconcileRanks } from "./reconcile-ranks";
import { runUpkeep } from "./upkeep";

/** The daily upkeep trigger in wrangler.toml ("15 3 * * *"). */
const DAILY_UPKEEP_CRON = "15 3 * * *";
/** The every-minute trigger in wrangler.toml: reconciliation of the Redis rank store. */
const RECONCILE_CRON = "* * * * *";

/**
 * The worker's scheduled handler: routes each cron expression of wrangler.toml to its job. Jobs
 * are bounded and idempotent (cron may fire twice). Any other trigger only logs, so a cron added
 * to wrangler.toml before its job is harmless.
 */
export async function handleScheduled(
  controller: ScheduledController,
  env: AppBindings,
): Promise<void> {
  if (controller.cron === DAILY_UPKEEP_CRON)
    return runJob(env, "upkeep", "it runs again tomorrow, or fire it by hand", (db) =>
      runUpkeep(db, new Date(controller.scheduledTime)),
    );
  if (controller.cron === RECONCILE_CRON) {
    // The HTTP query client stays unused: each job runs on a pool of its own (runJob).
    const { redis, leaderboard } = storesFor(env);
    const repairs = runJob(env, "object repairs", "it runs again next minute", (db) =>
      repairObjects(db, env),
    );
    // Without Upstash every rank beyond the top-N comes from Postgres: nothing to reconcile.
    if (!redis) return repairs;
    const reconcile = runJob(env, "rank reconciliation", "it runs again next minute", (db) =>
      reconcileRanks(db, redis, env.REDIS_KEY_PREFIX, new Date(controller.scheduledTime), {
        pastDays: parsePastPeriodDays(env.REDIS_PAST_PERIOD_DAYS),
        watermarkOf: (boardId, periodKey) => leaderboard(boardId, periodKey).watermark(),
        prepareObject: async (board, periodKey) => {
          await leaderboard(board.id, periodKey).rebuild(objectConfig(env, board, periodKey));
        },
      }),
    );
    const [repaired, reconciled] = await Promise.allSettled([repairs, reconcile]);
    for (const outcome of [repaired, reconciled])
      if (outcome.status === "rejected") throw outcome.reason;
    return;
  }
  log.info("cron: no job for this trigger yet", { cron: controller.cron });
}

/** One job on its own database handle, its outcome logged either way; a failure is rethrown. */
async function runJob<T extends object>(
  env: AppBindings,
  name: string,
  whenFailed: string,
  job: (db: ReturnType<typeof openDatabase>["db"]) => Promise<T>,
): Promise<void> {
  const handle = openDatabase(env, { maxConnections: 1 });
  const started = Date.now();
  try {
    const result = await job(handle.db);
    log.info(`cron: ${name} done`, { ...result, ms: Date.now() - started });
  } catch (error) {
    log.error(`cron: ${name} failed; ${whenFailed}`, { error: describeError(error) });
    throw error;
  } finally {
    await handle.close();
  }
}
