import { queueRole } from "../domain/messages";
import type { AppBindings } from "../env";
import { log, setLogLevel } from "../lib/log";
import { consumeDeadLetters } from "./dead-letter-consumer";
import { consumeEventBatch } from "./event-consumer";

/** The worker's queue handler: routes a batch to its consumer by queue name. */
export async function handleQueue(
  batch: MessageBatch<unknown>,
  env: AppBindings,
  ctx: ExecutionContext,
): Promise<void> {
  setLogLevel(env.LOG_LEVEL);
  const role = queueRole(batch.queue);
  if (role === "dead_letters") return consumeDeadLetters(batch, env);
  if (role === "scores" || role === "analytics")
    return consumeEventBatch(batch, env, role, (p) => ctx.waitUntil(p), ctx.cache);
  log.error("queue: batch from an unknown queue, retrying", {
    queue: batch.queue,
    hint: "queue names must end in -score-events, -analytics-events or -dead-letters",
  });
  batch.retryAll({ delaySeconds: 60 });
}
