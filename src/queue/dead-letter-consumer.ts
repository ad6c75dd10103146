import { sql } from "drizzle-orm";
import { openDatabase } from "../db/client";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { DeadLetterSchema } from "./messages";
import { backoffSeconds } from "./retry-policy";

/**
 * Records dead letters in Postgres (one multi-row insert per batch) so operators can list them
 * (GET /v1/admin/dlq) and replay them. Letters we sent carry their error; bare bodies are ones
 * the platform moved after max_retries. Recording is idempotent per (queue, message id).
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: AppBindings): Promise<void> {
  const rows = batch.messages.map((message) => {
    const letter = DeadLetterSchema.safeParse(message.body);
    return letter.success
      ? {
          queue: letter.data.queue,
          message_id: letter.data.messageId,
          body: letter.data.body ?? null,
          error: letter.data.error,
          attempts: letter.data.attempts,
        }
      : {
          queue: batch.queue,
          message_id: message.id,
          body: message.body ?? null,
          error: "retries exhausted (moved by the platform after max_retries; no error recorded)",
          attempts: message.attempts,
        };
  });
  const handle = openDatabase(env, { maxConnections: 1 });
  try {
    await withTimeout(
      handle.db.execute(sql`
        insert into dead_letters (queue, message_id, body, error, attempts)
        select r.queue, r.message_id, r.body, r.error, r.attempts
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(queue text, message_id text, body jsonb, error text, attempts int)
        where not exists (
          select 1 from dead_letters d where d.queue = r.queue and d.message_id = r.message_id and d.replayed_at is null
        )`),
      15_000,
      "Postgres dead-letter write",
    );
    batch.ackAll();
  } catch (error) {
    log.error("dead letters: could not record, retrying", { error: describeError(error), size: rows.length });
    for (const message of batch.messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  } finally {
    await handle.close();
  }
}
