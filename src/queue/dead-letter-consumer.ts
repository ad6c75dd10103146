import { sql } from "drizzle-orm";
import { DeadLetterSchema } from "../domain/messages";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { metricsSinkFor } from "../stores/metrics";
import { openDatabase, type SessionDatabase } from "../stores/postgres/client";
import { backoffSeconds, isPermanentDatabaseError } from "./retry-policy";

type LetterRow = {
  queue: string;
  message_id: string;
  body: unknown;
  error: string;
  attempts: number;
};

/**
 * Records dead letters in Postgres (one multi-row insert per batch) so operators can list them
 * (GET /v1/admin/dlq) and replay them. Letters we sent carry their error; bare bodies are ones
 * the platform moved after max_retries. Recording is idempotent per (queue, message id) among
 * pending letters. A letter is acked only once it is recorded: one whose body Postgres cannot
 * hold (a NUL character, a lone surrogate) is recorded with the body as escaped JSON text.
 */
export async function consumeDeadLetters(
  batch: MessageBatch<unknown>,
  env: AppBindings,
): Promise<void> {
  const rows: LetterRow[] = batch.messages.map((message) => {
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
  const started = performance.now();
  const handle = openDatabase(env, { maxConnections: 1 });
  try {
    let recorded = rows;
    try {
      await record(handle.db, rows);
      batch.ackAll();
    } catch (error) {
      if (!isPermanentDatabaseError(error)) throw error;
      // One body Postgres refuses must not keep its neighbours (or itself) unrecorded.
      const kept = await Promise.all(
        batch.messages.map((message, i) => recordAlone(handle.db, message, rows[i] as LetterRow)),
      );
      recorded = rows.filter((_, i) => kept[i]);
    }
    recordArrivals(env, recorded, batch.messages.length, performance.now() - started);
  } catch (error) {
    log.error("dead letters: could not record, retrying", {
      error: describeError(error),
      size: rows.length,
    });
    for (const message of batch.messages)
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  } finally {
    await handle.close();
  }
}

async function record(db: SessionDatabase, rows: LetterRow[]): Promise<void> {
  await withTimeout(
    db.execute(sql`
      insert into dead_letters (queue, message_id, body, error, attempts)
      select distinct on (r.queue, r.message_id) r.queue, r.message_id, r.body, r.error, r.attempts
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as r(queue text, message_id text, body jsonb, error text, attempts int)
      order by r.queue, r.message_id
      on conflict (queue, message_id) where replayed_at is null do nothing`),
    15_000,
    "Postgres dead-letter write",
  );
}

/** Records one letter, escaped if need be; acks it once recorded, else retries it alone. */
async function recordAlone(
  db: SessionDatabase,
  message: Message<unknown>,
  row: LetterRow,
): Promise<boolean> {
  try {
    try {
      await record(db, [row]);
    } catch (error) {
      if (!isPermanentDatabaseError(error)) throw error;
      // JSON.stringify writes a NUL or a lone surrogate as an escape: as text inside a string,
      // Postgres keeps it.
      await record(db, [
        {
          ...row,
          body: {
            unstorable: "the body holds text Postgres cannot store; `json` is its JSON text",
            json: JSON.stringify(row.body),
          },
          error: `${row.error} (body stored as escaped JSON text: ${describeError(error)})`,
        },
      ]);
    }
    message.ack();
    return true;
  } catch (error) {
    log.error("dead letters: could not record one letter, retrying it", {
      messageId: row.message_id,
      error: describeError(error),
    });
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return false;
  }
}

/** A data point per queue the recorded letters died on, and the batch's log line. */
function recordArrivals(env: AppBindings, recorded: LetterRow[], size: number, ms: number): void {
  const byQueue = new Map<string, number>();
  for (const row of recorded) byQueue.set(row.queue, (byQueue.get(row.queue) ?? 0) + 1);
  const sink = metricsSinkFor(env);
  for (const [queue, letters] of byQueue) sink.write({ kind: "dead_letter", queue, letters });
  log.info("dead letters: batch", {
    outcome: recorded.length === size ? "ok" : "partial",
    size,
    recorded: recorded.length,
    queues: Object.fromEntries(byQueue),
    ms: Math.round(ms),
  });
}
