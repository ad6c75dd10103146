import { openDatabase } from "../db/client";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { runUpkeep } from "./upkeep";

/** The daily upkeep trigger in wrangler.toml ("15 3 * * *"). */
export const DAILY_UPKEEP_CRON = "15 3 * * *";

/**
 * The worker's scheduled handler: routes each cron expression of wrangler.toml to its job. Jobs
 * are bounded and idempotent (cron may fire twice). Triggers without a job yet (reconciliation,
 * rollups, tournaments arrive with their issues) only log, so firing them is harmless.
 */
export async function handleScheduled(controller: ScheduledController, env: AppBindings): Promise<void> {
  if (controller.cron !== DAILY_UPKEEP_CRON) {
    log.info("cron: no job for this trigger yet", { cron: controller.cron });
    return;
  }
  const handle = openDatabase(env, { maxConnections: 1 });
  const started = Date.now();
  try {
    const result = await runUpkeep(handle.db, new Date(controller.scheduledTime));
    log.info("cron: upkeep done", { ...result, ms: Date.now() - started });
  } catch (error) {
    log.error("cron: upkeep failed; it runs again tomorrow, or fire it by hand", { error: describeError(error) });
    throw error;
  } finally {
    await handle.close();
  }
}
