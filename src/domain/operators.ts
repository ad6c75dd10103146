/**
 * Score operators: how a new event changes a player's standing on one
 * (board, period). These functions are the reference semantics; the SQL
 * upsert and the Redis mirror must produce the same records.
 *
 * Equivalent SQL (Postgres `INSERT .. ON CONFLICT DO UPDATE`, with
 * `excluded.reached_at` holding the event's occurredAt; shown for a desc
 * board, swap `>`/`<` and GREATEST/LEAST on the score for asc):
 *
 *   best:      score      = GREATEST(t.score, excluded.score)
 *              reached_at = CASE WHEN excluded.score > t.score THEN excluded.reached_at
 *                                WHEN excluded.score = t.score
 *                                  THEN LEAST(t.reached_at, excluded.reached_at)
 *                                ELSE t.reached_at END
 *   latest:    DO UPDATE SET score = excluded.score, reached_at = excluded.reached_at
 *              WHERE excluded.reached_at > t.reached_at
 *   increment: score = t.score + excluded.score,
 *              reached_at = GREATEST(t.reached_at, excluded.reached_at)
 *
 * Because a batch folded with `mergeBatch` and then applied as a single event
 * (`recordAsEvent`) gives the same row as applying each event in turn, the
 * queue consumer can pre-aggregate and issue one multi-row upsert.
 */

/** Direction of a board: `desc` means higher scores are better. */
export type SortOrder = "desc" | "asc";

/** How a board combines a player's events into one score per period. */
export type ScoreOperator = "best" | "latest" | "increment";

/**
 * A player's standing in one (board, period). `reachedAt` is the epoch-ms
 * instant the current score was reached; it is the ranking tie-break and, for
 * `latest`, the ordering stamp that stops late events overwriting newer ones.
 */
export interface ScoreRecord {
  readonly score: number;
  /** epoch ms */
  readonly reachedAt: number;
}

/** One submitted score; for `increment` boards `score` is the delta. */
export interface ScoreEvent {
  readonly score: number;
  /** epoch ms */
  readonly occurredAt: number;
}

/** Every operator, for validation and exhaustive tests. */
export const SCORE_OPERATORS: readonly ScoreOperator[] = ["best", "latest", "increment"];

/** Every sort order, for validation and exhaustive tests. */
export const SORT_ORDERS: readonly SortOrder[] = ["desc", "asc"];

/** True when score `a` is strictly better than `b` on a board of this order. */
export function isBetterScore(sortOrder: SortOrder, a: number, b: number): boolean {
  return sortOrder === "desc" ? a > b : a < b;
}

function checkEvent(incoming: ScoreEvent): void {
  if (!Number.isSafeInteger(incoming.score)) {
    throw new RangeError("operators: score must be a safe integer");
  }
  if (!Number.isSafeInteger(incoming.occurredAt)) {
    throw new RangeError("operators: occurredAt must be integer epoch milliseconds");
  }
}

/**
 * Applies one event to a player's record.
 *
 * - `best`: keeps the better score. On an equal score the earlier instant is
 *   kept (`min(reachedAt, occurredAt)`): for in-order events that is the old
 *   record's reachedAt ("first to reach ranks higher"), and it also stays
 *   right when an earlier event arrives late, which keeps `best`
 *   order-independent.
 * - `latest`: takes the event with the greater occurredAt; on an exact tie the
 *   existing record is kept, so a late or duplicate delivery never overwrites.
 * - `increment`: adds the delta; reachedAt becomes the newest contributing
 *   occurredAt.
 *
 * Change detection contract: when the event changes nothing, the very same
 * `current` object is returned, so `result !== current` means "write needed".
 * Throws RangeError on non-integer input or when an increment leaves the
 * safe-integer range (silently losing precision would corrupt totals).
 */
export function applyOperator(
  operator: ScoreOperator,
  sortOrder: SortOrder,
  current: ScoreRecord | undefined,
  incoming: ScoreEvent,
): ScoreRecord {
  checkEvent(incoming);
  if (current === undefined) {
    return { score: incoming.score, reachedAt: incoming.occurredAt };
  }
  switch (operator) {
    case "best": {
      if (isBetterScore(sortOrder, incoming.score, current.score)) {
        return { score: incoming.score, reachedAt: incoming.occurredAt };
      }
      if (incoming.score === current.score && incoming.occurredAt < current.reachedAt) {
        return { score: current.score, reachedAt: incoming.occurredAt };
      }
      return current;
    }
    case "latest": {
      if (incoming.occurredAt > current.reachedAt) {
        return { score: incoming.score, reachedAt: incoming.occurredAt };
      }
      return current;
    }
    case "increment": {
      const score = current.score + incoming.score;
      if (!Number.isSafeInteger(score)) {
        throw new RangeError("operators: increment overflows the safe-integer range");
      }
      const reachedAt = Math.max(current.reachedAt, incoming.occurredAt);
      if (score === current.score && reachedAt === current.reachedAt) return current;
      return { score, reachedAt };
    }
    default:
      throw new RangeError(`operators: unknown operator ${String(operator)}`);
  }
}

/**
 * Folds many events for one (board, period, player) into a single record, in
 * the order given, optionally on top of `current`. The result equals applying
 * the events one by one sorted by occurredAt, whatever order they arrived in:
 * - `best`: the best score, reached at the earliest occurredAt among events
 *   carrying it;
 * - `increment`: the sum of deltas, at the newest occurredAt;
 * - `latest`: the score of the newest event. Order-independent except for
 *   events sharing the exact newest occurredAt with different scores: then the
 *   first one in the given order wins, exactly as the `latest` upsert keeps
 *   the row already written.
 * Returns `current` (possibly undefined) when `events` is empty.
 */
export function mergeBatch(
  operator: ScoreOperator,
  sortOrder: SortOrder,
  events: Iterable<ScoreEvent>,
  current?: ScoreRecord,
): ScoreRecord | undefined {
  let acc = current;
  for (const event of events) acc = applyOperator(operator, sortOrder, acc, event);
  return acc;
}

/**
 * Views a (pre-aggregated) record as a single event, so a batch merged with
 * `mergeBatch` can be applied to the stored row with `applyOperator` or the
 * equivalent SQL upsert and give the same row as the individual events.
 */
export function recordAsEvent(record: ScoreRecord): ScoreEvent {
  return { score: record.score, occurredAt: record.reachedAt };
}
