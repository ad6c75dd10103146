import type { PeriodKind } from "../domain";
import { boardPeriodKey, dedupeHorizonMs, IDEMPOTENCY_WINDOW_DAYS, periodKeysFor } from "../domain";
import { type EventBody, IngestMessageSchema, type QueueRole } from "../domain/messages";
import type { ScoreChange } from "../domain/records";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { boardLoader } from "../services/boards";
import { requestObjectRepairs } from "../services/projection/object-repairs";
import {
  type MissedObject,
  type ProjectionOutcome,
  projectScoreChanges,
} from "../services/projection/score-projection";
import { getBoards } from "../stores/cache/boards";
import { metricsSinkFor } from "../stores/metrics";
import { type Database, queryDatabase } from "../stores/postgres/client";
import { isSchemaMissing, MIGRATE_HINT } from "../stores/postgres/errors";
import {
  type ContributionRow,
  type EventRow,
  persistBatch,
} from "../stores/postgres/persist-batch";
import { countsOf } from "../stores/postgres/ranks";
import type { Board } from "../stores/postgres/schema";
import { deadLetter } from "./dead-letter";
import { backoffSeconds, exhausted, isPermanentDatabaseError } from "./retry-policy";

/**
 * A statement that takes longer is treated as failed (and retried); it is idempotent if it did
 * commit.
 */
const STATEMENT_TIMEOUT_MS = 20_000;

/** One event and the queue message that carried it (a message packs a request's events). */
type Item = { message: Message<unknown>; event: EventBody };

/** What happened to the events of a batch; messages are settled from it at the end. */
interface Outcome {
  changes: ScoreChange[];
  /** Database statements issued (board loads, writes, bisection retries): the round trips. */
  statements: number;
  /** Messages with an event that failed transiently: retried whole (landed events dedupe). */
  failed: Set<Message<unknown>>;
  failure?: unknown;
  /** Fresh events the boards' bounds refused (they moved nothing). */
  refused: number;
  /** The newest statement time of the batch's writes (epoch ms): the batch's watermark. */
  writtenAt: number;
}

/**
 * Consumes a batch from the score or analytics queue: schema-check each message, write all their
 * events to Postgres in one statement, hand the final score records to the projection seam
 * (Durable Objects, Redis), then ack per message. Failure handling:
 *  - a body that fails the schema: dead-lettered with the reason, acked (retrying cannot help);
 *  - a permanent database error: the events are split until the one event causing it is found;
 *    that event alone is dead-lettered while its neighbours (and its own message) land;
 *  - a transient failure (database down, timeout): its messages are retried with exponential
 *    backoff, and dead-lettered with the error after MAX_ATTEMPTS.
 * Redelivery is harmless: ids already seen are ignored inside the same statement, so retrying a
 * message whose events partly landed counts each event once.
 */
export async function consumeEventBatch(
  batch: MessageBatch<unknown>,
  env: AppBindings,
  role: QueueRole,
  waitUntil: (promise: Promise<unknown>) => void = () => {},
  /** Workers Cache (ctx.cache), when the Worker runs behind it. */
  cache?: CacheContext,
): Promise<void> {
  const started = performance.now();
  let items: Item[] = [];
  const accepted: Message<unknown>[] = [];
  let rejected = 0;
  for (const message of batch.messages) {
    const parsed = IngestMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "body";
      await settlePoison(
        env,
        batch.queue,
        message,
        `invalid message: ${where}: ${issue?.message ?? "schema mismatch"}`,
      );
      continue;
    }
    accepted.push(message);
    if (parsed.data.kind === "event") {
      const { kind: _kind, ...event } = parsed.data;
      items.push({ message, event });
    } else {
      rejected += parsed.data.rejected ?? 0;
      for (const event of parsed.data.events) items.push({ message, event });
    }
  }
  if (accepted.length === 0) return;
  // An event that occurred before the dedupe horizon may have lost its event_ids day partition:
  // it could be counted twice, so it is dead-lettered instead (only a backlog or a replay days
  // after its acceptance gets here).
  const horizon = dedupeHorizonMs(Date.now());
  const stale = items.filter((i) => i.event.occurredAt < horizon);
  if (stale.length > 0) items = items.filter((i) => i.event.occurredAt >= horizon);

  const groups = splitByPlayer(
    items,
    Math.min(MAX_PARALLEL_WRITES, Math.max(1, Math.ceil(items.length / EVENTS_PER_WRITE))),
  );
  // One HTTP query per statement (Neon's proxy runs it on a connection it keeps), not a WebSocket
  // session per batch: a session's setup cost Postgres and the worker more than a 100-event
  // batch's own statement (docs/benchmarks.md, "One score per request"). A batch is at most 100
  // messages of 128 KB, far under the 64 MB an HTTP query may carry.
  const db = queryDatabase(env);
  try {
    const outcome: Outcome = {
      changes: [],
      statements: 0,
      failed: new Set(),
      refused: 0,
      writtenAt: 0,
    };
    for (const { message, event } of stale) {
      const reason =
        `occurredAt is more than ${IDEMPOTENCY_WINDOW_DAYS - 1} days ago: its idempotency ` +
        "partition may be gone, so it could be counted twice";
      await buryEvent(env, batch.queue, message, event, reason, outcome);
    }
    const parsedAt = performance.now();
    const boards = await loadBoards(db, items, outcome);
    const writes: BatchWrites = { db, env, queue: batch.queue, role, boards, outcome };
    await Promise.all(
      groups.map((group, g) => {
        const part = { shard: g, batches: g === 0 ? 1 : 0 };
        return persistIsolating(writes, group, g === 0 ? rejected : 0, part);
      }),
    );
    const landed = accepted.filter((m) => !outcome.failed.has(m));
    // Acked only after the projection: if it fails the messages come back, their events are seen
    // as duplicates (nothing is counted twice) and the final records are projected again.
    const persistedAt = performance.now();
    let unprojected: MissedObject[] = [];
    if (outcome.changes.length > 0) {
      outcome.statements += 1;
      const totals = await exactTotals(db, outcome.changes);
      const projection = await projectScoreChanges(env, outcome.changes, boards, {
        waitUntil,
        totals,
        writtenAt: outcome.writtenAt,
        cache,
      });
      unprojected = await settleProjection(db, batch.queue, landed, projection, outcome);
    }
    const projectedAt = performance.now();
    for (const message of landed) if (!outcome.failed.has(message)) message.ack();
    await Promise.all(
      [...outcome.failed].map((message) => retryOrBury(env, batch.queue, message, outcome.failure)),
    );
    // One wide event per batch: the figures an operator (and bench:ingest) needs, and its data
    // point.
    const ms = Math.round(performance.now() - started);
    const lag = lagOf(items, outcome);
    const result = outcome.failed.size === 0 ? "ok" : "partial";
    metricsSinkFor(env).write({
      kind: "batch",
      queue: batch.queue,
      outcome: result,
      ms,
      messages: batch.messages.length,
      events: items.length,
      statements: outcome.statements,
      retried: outcome.failed.size,
      ...lag,
    });
    log.info("consumer: batch", {
      queue: batch.queue,
      outcome: result,
      messages: batch.messages.length,
      size: items.length,
      retried: outcome.failed.size,
      records: outcome.changes.length,
      refused: outcome.refused,
      unprojected: unprojected.length,
      writes: groups.length,
      statements: outcome.statements,
      ms,
      lagMaxMs: lag.lagMaxMs,
      // Where the time went: parsing, the database write(s), the projections (DOs, Redis).
      parseMs: Math.round(parsedAt - started),
      writeMs: Math.round(persistedAt - parsedAt),
      projectMs: Math.round(projectedAt - persistedAt),
    });
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    metricsSinkFor(env).write({
      kind: "batch",
      queue: batch.queue,
      outcome: "failed",
      ms,
      messages: batch.messages.length,
      events: items.length,
      statements: 0,
      retried: accepted.length,
      lagSumMs: 0,
      lagEvents: 0,
      lagMaxMs: 0,
    });
    log.warn("consumer: batch failed, retrying its messages", {
      queue: batch.queue,
      outcome: "failed",
      messages: batch.messages.length,
      size: items.length,
      ms,
      error: describeError(error),
    });
    await Promise.all(accepted.map((message) => retryOrBury(env, batch.queue, message, error)));
  }
}

/**
 * Consumer lag of the events that landed: from receivedAt (the edge accepted the event) to the
 * batch's last write. A replayed dead letter counts from its first acceptance, days back.
 */
function lagOf(
  items: Item[],
  outcome: Outcome,
): { lagSumMs: number; lagEvents: number; lagMaxMs: number } {
  let lagSumMs = 0;
  let lagEvents = 0;
  let lagMaxMs = 0;
  if (outcome.writtenAt > 0) {
    for (const { message, event } of items) {
      if (outcome.failed.has(message)) continue;
      const lag = Math.max(0, outcome.writtenAt - event.receivedAt);
      lagSumMs += lag;
      lagEvents += 1;
      if (lag > lagMaxMs) lagMaxMs = lag;
    }
  }
  return { lagSumMs, lagEvents, lagMaxMs };
}

async function loadBoards(
  db: Database,
  items: Item[],
  outcome: Outcome,
): Promise<Map<string, Board>> {
  const ids = items.flatMap((i) => (i.event.boardId ? [i.event.boardId] : []));
  if (ids.length === 0) return new Map();
  const load = boardLoader(() => db);
  return getBoards(ids, (missing) => {
    outcome.statements += 1;
    return load(missing);
  });
}

/**
 * A large batch is written as up to MAX_PARALLEL_WRITES statements on as many connections, split
 * by player so no two of them touch the same score record (no lock waits between them): one
 * statement per ~EVENTS_PER_WRITE events keeps each short and uses the database's cores.
 */
const MAX_PARALLEL_WRITES = 4;
const EVENTS_PER_WRITE = 1000;

function splitByPlayer<T extends { event: { playerId: string } }>(
  items: T[],
  parts: number,
): T[][] {
  if (parts <= 1) return [items];
  const groups: T[][] = Array.from({ length: parts }, () => []);
  for (const item of items) groups[fnv1a(item.event.playerId) % parts]?.push(item);
  return groups.filter((g) => g.length > 0);
}

/** 32-bit FNV-1a: a cheap, stable spread of player ids over the parallel writes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Event rows and their (board, period key) contributions, computed in the board's time zone. */
function toRows(
  items: Item[],
  boards: Map<string, Board>,
): { events: EventRow[]; contributions: ContributionRow[]; inBatchDuplicates: number } {
  const events: EventRow[] = [];
  const contributions: ContributionRow[] = [];
  const seen = new Set<string>();
  const periodKeysByMinute = new Map<string, string[]>();
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
    // A tournament instance is a board-period of its hidden board, named at acceptance.
    if (event.periodKey !== undefined) {
      contributions.push({ event_id: event.id, board_id: board.id, period_key: event.periodKey });
      continue;
    }
    // Period boundaries fall on whole minutes in every time zone (offsets and DST changes are
    // whole minutes), so events of one board in the same UTC minute share their keys: computing
    // them once per minute instead of once per event removes most of the calendar work.
    const minute = Math.floor(event.occurredAt / 60_000);
    const memo = `${board.id}\u0000${minute}`;
    let keys = periodKeysByMinute.get(memo);
    if (!keys) {
      const config = {
        periods: board.periods as PeriodKind[],
        timeZone: board.timeZone,
        weekStart: board.weekStart,
      };
      keys = periodKeysFor(config, new Date(minute * 60_000)).map((p) => p.key);
      periodKeysByMinute.set(memo, keys);
    }
    for (const key of keys)
      contributions.push({ event_id: event.id, board_id: board.id, period_key: key });
  }
  return { events, contributions, inBatchDuplicates };
}

/** What every write of one batch shares, down through the halves of a bisection. */
interface BatchWrites {
  db: Database;
  env: AppBindings;
  queue: string;
  role: QueueRole;
  boards: Map<string, Board>;
  /** Where the writes' results are collected. */
  outcome: Outcome;
}

/**
 * Persists the events in one statement; on a permanent error splits them in halves and recurses,
 * so a poison event costs O(log n) extra statements and only it is dead-lettered. Results are
 * collected in `outcome`: the score changes of what landed, and the messages to retry.
 */
async function persistIsolating(
  writes: BatchWrites,
  items: Item[],
  rejected: number,
  part: { shard: number; batches: number } = { shard: 0, batches: 1 },
): Promise<void> {
  const { db, env, queue, role, boards, outcome } = writes;
  if (items.length === 0 && rejected === 0) return;
  const { events, contributions, inBatchDuplicates } = toRows(items, boards);
  try {
    outcome.statements += 1;
    const result = await withTimeout(
      persistBatch(db, role, events, contributions, { inBatchDuplicates, rejected, ...part }),
      STATEMENT_TIMEOUT_MS,
      "Postgres batch write",
    );
    outcome.changes.push(...result.changes);
    outcome.refused += result.refused.length;
    outcome.writtenAt = Math.max(outcome.writtenAt, result.writtenAt);
    if (result.refused.length > 0) {
      log.warn("consumer: events refused by their board's bounds (see score_rejections)", {
        queue,
        eventIds: result.refused.slice(0, 20),
      });
    }
  } catch (error) {
    if (!isPermanentDatabaseError(error)) {
      if (isSchemaMissing(error))
        log.error(`consumer: ${MIGRATE_HINT}; retrying`, {
          queue,
          events: items.length,
          error: describeError(error),
        });
      else
        log.warn("consumer: transient database failure, retrying", {
          queue,
          events: items.length,
          error: describeError(error),
        });
      for (const item of items) outcome.failed.add(item.message);
      outcome.failure = error;
      return;
    }
    if (items.length === 1 && items[0]) {
      const { message, event } = items[0];
      await buryEvent(
        env,
        queue,
        message,
        event,
        `database rejected the event: ${describeError(error)}`,
        outcome,
      );
      return;
    }
    const middle = Math.ceil(items.length / 2);
    await persistIsolating(writes, items.slice(0, middle), rejected, part);
    await persistIsolating(writes, items.slice(middle), 0, { ...part, batches: 0 });
  }
}

/** One event of a packed message can never land: it alone goes to the DLQ, as a single event. */
async function buryEvent(
  env: AppBindings,
  queue: string,
  message: Message<unknown>,
  event: EventBody,
  reason: string,
  outcome: Outcome,
) {
  log.warn("consumer: poison event dead-lettered", {
    queue,
    messageId: message.id,
    eventId: event.id,
    reason,
  });
  try {
    await deadLetter(env, {
      queue,
      messageId: `${message.id}/${event.id}`,
      attempts: message.attempts,
      error: reason,
      body: { kind: "event", ...event },
    });
  } catch (error) {
    outcome.failed.add(message);
    outcome.failure = error;
  }
}

/** A message that can never succeed: dead-letter it with the reason, then ack it. */
async function settlePoison(
  env: AppBindings,
  queue: string,
  message: Message<unknown>,
  reason: string,
): Promise<void> {
  log.warn("consumer: poison message dead-lettered", { queue, messageId: message.id, reason });
  try {
    await deadLetter(env, {
      queue,
      messageId: message.id,
      attempts: message.attempts,
      error: reason,
      body: message.body,
    });
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
async function retryOrBury(
  env: AppBindings,
  queue: string,
  message: Message<unknown>,
  error: unknown,
): Promise<void> {
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

/** Time allowed for the count query; past it, the objects just add their new players. */
const COUNTS_TIMEOUT_MS = 2_000;

/**
 * The exact record count of every board-period the batch moved, read after its commit (one query
 * over the band counts), so each object's total is Postgres' own rather than a sum of new players
 * that a lost projection or a deleted record would leave wrong for good. A failure costs only
 * that exactness: the projection goes ahead with new-player counts.
 */
async function exactTotals(db: Database, changes: readonly ScoreChange[]) {
  const seen = new Map<string, { boardId: string; periodKey: string }>();
  for (const c of changes)
    seen.set(boardPeriodKey(c.boardId, c.periodKey), {
      boardId: c.boardId,
      periodKey: c.periodKey,
    });
  try {
    return await withTimeout(
      countsOf(db, [...seen.values()]),
      COUNTS_TIMEOUT_MS,
      "Postgres record counts",
    );
  } catch (error) {
    log.warn("consumer: record counts unavailable; totals advance by new players", {
      error: describeError(error),
    });
    return new Map();
  }
}

/**
 * Deliveries of a batch whose projection failed before the consumer stops retrying it for that
 * reason: its events are committed, so past this the objects are rebuilt from Postgres instead.
 */
export const PROJECTION_ATTEMPTS = 3;

/**
 * Decides what a projection that left work undone means for the batch's messages. A record no
 * store can hold will never project: its board-period is queued for a rebuild at once. An object
 * that failed (overloaded, restarting) gets the batch again, with backoff, up to
 * PROJECTION_ATTEMPTS deliveries; after that the messages are acked and the object is queued for a
 * rebuild, so one board never holds a batch, or the queue, hostage. If the repair rows cannot be
 * written the messages are retried: nothing is dropped unrecorded. Returns what was queued.
 */
async function settleProjection(
  db: Database,
  queue: string,
  landed: Message<unknown>[],
  projection: ProjectionOutcome,
  outcome: Outcome,
): Promise<MissedObject[]> {
  const repairs: MissedObject[] = [...projection.unprojectable];
  if (projection.failed.length > 0) {
    const lastTry = landed.filter((m) => m.attempts >= PROJECTION_ATTEMPTS);
    for (const message of landed)
      if (message.attempts < PROJECTION_ATTEMPTS) outcome.failed.add(message);
    if (lastTry.length > 0) repairs.push(...projection.failed);
    if (outcome.failed.size > 0)
      outcome.failure ??= new Error(`projection failed: ${projection.failed[0]?.error ?? ""}`);
    log.warn("consumer: Durable Object projection failed", {
      queue,
      objects: projection.failed.slice(0, 20),
      retried: landed.length - lastTry.length,
    });
  }
  if (projection.unprojectable.length > 0) {
    log.error("consumer: records no projection can hold; their objects are queued for a rebuild", {
      queue,
      records: projection.unprojectable.slice(0, 20),
    });
  }
  if (repairs.length === 0) return [];
  try {
    await requestObjectRepairs(db, repairs);
    return repairs;
  } catch (error) {
    for (const message of landed) outcome.failed.add(message);
    outcome.failure = error;
    return [];
  }
}
