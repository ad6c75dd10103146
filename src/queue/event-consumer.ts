import type { Database } from "../db/client";
import { openDatabase } from "../db/client";
import type { Board } from "../db/schema";
import type { PeriodKind } from "../domain";
import { periodKeysFor } from "../domain";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { getBoards } from "../services/board-cache";
import { boardLoader } from "../services/boards";
import { projectScoreChanges } from "../services/score-projection";
import { deadLetter } from "./dead-letter";
import { recordRejected } from "./ingest-stats";
import { type EventMessage, IngestMessageSchema, type QueueRole } from "./messages";
import { type ContributionRow, type EventRow, persistBatch, type ScoreChange } from "./persist-batch";
import { backoffSeconds, exhausted, isPermanentDatabaseError } from "./retry-policy";

/** A statement that takes longer is treated as failed (and retried); it is idempotent if it did commit. */
const STATEMENT_TIMEOUT_MS = 15_000;

type Item = { message: Message<unknown>; event: EventMessage };

/**
 * Consumes a batch from the score or analytics queue: schema-check each message, write the whole
 * batch to Postgres in one statement, ack per message, then hand the final score records to the
 * projection seam (Durable Objects, Redis). Failure handling, per message:
 *  - a body that fails the schema: dead-lettered with the reason, acked (retrying cannot help);
 *  - a permanent database error: the batch is split until the one message causing it is found,
 *    which is dead-lettered while its neighbours land;
 *  - a transient failure (database down, timeout): retried with exponential backoff, and
 *    dead-lettered with the error after MAX_ATTEMPTS.
 * Redelivery is harmless: ids already seen are ignored inside the same statement.
 */
export async function consumeEventBatch(batch: MessageBatch<unknown>, env: AppBindings, role: QueueRole): Promise<void> {
  const items: Item[] = [];
  const rejections: Array<{ message: Message<unknown>; count: number }> = [];
  for (const message of batch.messages) {
    const parsed = IngestMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await settlePoison(
        env,
        batch.queue,
        message,
        `invalid message: ${issue?.path.join(".") || "body"}: ${issue?.message ?? "schema mismatch"}`,
      );
    } else if (parsed.data.kind === "rejections") {
      rejections.push({ message, count: parsed.data.count });
    } else {
      items.push({ message, event: parsed.data });
    }
  }

  const handle = openDatabase(env, { maxConnections: 1 });
  let pending: Message<unknown>[] = [...items.map((i) => i.message), ...rejections.map((r) => r.message)];
  try {
    const db = handle.db;
    const boards = await loadBoards(db, items);
    const outcome = await persistIsolating(db, env, batch.queue, role, items, boards);
    pending = [...outcome.landed.map((i) => i.message), ...rejections.map((r) => r.message)];
    const rejected = rejections.reduce((sum, r) => sum + r.count, 0);
    if (rejected > 0) await withTimeout(recordRejected(db, role, rejected), STATEMENT_TIMEOUT_MS, "Postgres stats write");
    // Acked only after the projection: if it fails the messages come back, are seen as duplicates
    // (nothing is counted twice) and the final records are projected again.
    if (outcome.changes.length > 0) await projectScoreChanges(env, outcome.changes);
    for (const message of pending) message.ack();
  } catch (error) {
    log.warn("consumer: batch failed after the write, retrying", { queue: batch.queue, error: describeError(error) });
    await Promise.all(pending.map((message) => retryOrBury(env, batch.queue, message, error)));
  } finally {
    await handle.close();
  }
}

async function loadBoards(db: Database, items: Item[]): Promise<Map<string, Board>> {
  const ids = items.flatMap((i) => (i.event.boardId ? [i.event.boardId] : []));
  return ids.length
    ? getBoards(
        ids,
        boardLoader(() => db),
      )
    : new Map();
}

/** Event rows and their (board, period key) contributions, computed in the board's time zone. */
export function toRows(
  items: Item[],
  boards: Map<string, Board>,
): { events: EventRow[]; contributions: ContributionRow[]; inBatchDuplicates: number } {
  const events: EventRow[] = [];
  const contributions: ContributionRow[] = [];
  const seen = new Set<string>();
  let inBatchDuplicates = 0;
  for (const { event } of items) {
    // The same id twice in a batch (a client retry that raced its original) counts once.
    if (seen.has(event.id)) {
      inBatchDuplicates += 1;
      continue;
    }
    seen.add(event.id);
    events.push({
      event_id: event.id,
      received_at: new Date(event.receivedAt).toISOString(),
      occurred_at: new Date(event.occurredAt).toISOString(),
      type: event.type,
      player_id: event.playerId,
      board_id: event.boardId ?? null,
      tournament_id: event.tournamentId ?? null,
      score: event.score ?? null,
      display_name: event.displayName ?? null,
      metadata: event.metadata ?? null,
      payload: event.payload ?? null,
    });
    const board = event.boardId ? boards.get(event.boardId) : undefined;
    if (!board || event.score === undefined) continue;
    const config = { periods: board.periods as PeriodKind[], timeZone: board.timeZone, weekStart: board.weekStart };
    for (const { key } of periodKeysFor(config, new Date(event.occurredAt))) {
      contributions.push({ event_id: event.id, board_id: board.id, period_key: key });
    }
  }
  return { events, contributions, inBatchDuplicates };
}

/**
 * Persists the items in one statement; on a permanent error splits the batch in halves and
 * recurses, so a poison message costs O(log n) extra statements and only it is dead-lettered.
 * Transiently failed items are scheduled for retry here; landed ones are returned for the caller
 * to ack once their projection is done.
 */
async function persistIsolating(
  db: Database,
  env: AppBindings,
  queue: string,
  role: QueueRole,
  items: Item[],
  boards: Map<string, Board>,
): Promise<{ landed: Item[]; changes: ScoreChange[] }> {
  if (items.length === 0) return { landed: [], changes: [] };
  const { events, contributions, inBatchDuplicates } = toRows(items, boards);
  try {
    const result = await withTimeout(
      persistBatch(db, role, events, contributions, inBatchDuplicates),
      STATEMENT_TIMEOUT_MS,
      "Postgres batch write",
    );
    return { landed: items, changes: result.changes };
  } catch (error) {
    if (!isPermanentDatabaseError(error)) {
      log.warn("consumer: transient database failure, retrying batch", { queue, size: items.length, error: describeError(error) });
      await Promise.all(items.map((item) => retryOrBury(env, queue, item.message, error)));
      return { landed: [], changes: [] };
    }
    if (items.length === 1 && items[0]) {
      await settlePoison(env, queue, items[0].message, `database rejected the event: ${describeError(error)}`);
      return { landed: [], changes: [] };
    }
    const middle = Math.ceil(items.length / 2);
    const left = await persistIsolating(db, env, queue, role, items.slice(0, middle), boards);
    const right = await persistIsolating(db, env, queue, role, items.slice(middle), boards);
    return { landed: [...left.landed, ...right.landed], changes: [...left.changes, ...right.changes] };
  }
}

/** A message that can never succeed: dead-letter it with the reason, then ack it. */
async function settlePoison(env: AppBindings, queue: string, message: Message<unknown>, reason: string): Promise<void> {
  log.warn("consumer: poison message dead-lettered", { queue, messageId: message.id, reason });
  try {
    await deadLetter(env, { queue, messageId: message.id, attempts: message.attempts, error: reason, body: message.body });
    message.ack();
  } catch (error) {
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    log.error("consumer: could not dead-letter a poison message, retrying it", {
      queue,
      messageId: message.id,
      error: describeError(error),
    });
  }
}

/** Transient failure: retry with backoff, or dead-letter with the error once attempts run out. */
async function retryOrBury(env: AppBindings, queue: string, message: Message<unknown>, error: unknown): Promise<void> {
  if (!exhausted(message.attempts)) {
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return;
  }
  try {
    await deadLetter(env, {
      queue,
      messageId: message.id,
      attempts: message.attempts,
      error: `retries exhausted: ${describeError(error)}`,
      body: message.body,
    });
    message.ack();
  } catch {
    // The platform's own max_retries still moves it to the DLQ, so it is never lost.
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}
