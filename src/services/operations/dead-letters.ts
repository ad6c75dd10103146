import { sql } from "drizzle-orm";
import { IngestMessageSchema, queueRole } from "../../domain/messages";
import type { AppBindings } from "../../env";
import { jsonBytes, sendBatches } from "../../lib/send-batches";
import type { Database } from "../../stores/postgres/client";

export interface DeadLetterView {
  id: number;
  queue: string;
  messageId: string;
  error: string;
  attempts: number;
  receivedAt: string;
  body: unknown;
}

/** Dead letters not replayed yet, oldest first, with why each died. */
export async function listDeadLetters(
  db: Database,
  limit: number,
): Promise<{ total: number; deadLetters: DeadLetterView[] }> {
  const rows = await db.execute<{
    id: number;
    queue: string;
    message_id: string;
    error: string;
    attempts: number;
    received_at: string;
    body: unknown;
    total: number;
  }>(sql`
    select id, queue, message_id, error, attempts, received_at, body, count(*) over () as total
    from dead_letters where replayed_at is null order by received_at, id limit ${limit}`);
  return {
    total: Number(rows.rows[0]?.total ?? 0),
    deadLetters: rows.rows.map((r) => ({
      id: Number(r.id),
      queue: r.queue,
      messageId: r.message_id,
      error: r.error,
      attempts: Number(r.attempts),
      receivedAt: new Date(r.received_at).toISOString(),
      body: r.body,
    })),
  };
}

/**
 * Requeues dead letters onto the queue they came from and marks them replayed. Safe to repeat:
 * events are idempotent by id, so a replayed event that had landed after all counts once. A body
 * that still fails the message schema is skipped (replaying it would only dead-letter it again).
 */
export async function replayDeadLetters(
  db: Database,
  env: AppBindings,
  selection: { ids?: number[] | undefined; limit: number },
): Promise<{ replayed: number; skipped: Array<{ id: number; reason: string }> }> {
  const rows = await db.execute<{ id: number; queue: string; body: unknown }>(
    selection.ids
      ? sql`select id, queue, body from dead_letters
          where replayed_at is null and id = any(${pgBigintArray(selection.ids)}::bigint[])
          order by id`
      : sql`select id, queue, body from dead_letters
          where replayed_at is null order by received_at, id limit ${selection.limit}`,
  );
  const skipped: Array<{ id: number; reason: string }> = [];
  const byQueue = new Map<Queue, Array<{ id: number; body: unknown }>>();
  for (const row of rows.rows) {
    const id = Number(row.id);
    const parsed = IngestMessageSchema.safeParse(row.body);
    if (!parsed.success) {
      skipped.push({
        id,
        reason:
          "the body does not match the message schema; fix the producer, then delete or ignore it",
      });
      continue;
    }
    const role = queueRole(row.queue);
    const target =
      role === "scores" ? env.SCORE_EVENTS : role === "analytics" ? env.ANALYTICS_EVENTS : null;
    if (!target) {
      skipped.push({ id, reason: `unknown source queue "${row.queue}"` });
      continue;
    }
    const list = byQueue.get(target) ?? [];
    list.push({ id, body: parsed.data });
    byQueue.set(target, list);
  }
  let replayed = 0;
  for (const [queue, letters] of byQueue) {
    // Chunked by count and bytes: letters from full 100-event messages reach ~100 KB each.
    for (const chunk of sendBatches(letters, (letter) => jsonBytes(letter.body))) {
      await queue.sendBatch(chunk.map((l) => ({ body: l.body, contentType: "json" as const })));
      const ids = chunk.map((l) => l.id);
      await db.execute(
        sql`update dead_letters set replayed_at = now()
          where id = any(${pgBigintArray(ids)}::bigint[])`,
      );
      replayed += chunk.length;
    }
  }
  return { replayed, skipped };
}

/** A Postgres array literal for integer ids (drizzle would spread a JS array into a list). */
function pgBigintArray(ids: number[]): string {
  return `{${ids.map((id) => Math.trunc(id)).join(",")}}`;
}
