import {
  isValidPeriodKey,
  PERIOD_KINDS,
  type PeriodKind,
  periodRange,
  type WeekStart,
} from "./periods";

const DAY_MS = 86_400_000;

/**
 * Default for REDIS_PAST_PERIOD_DAYS and OBJECT_PAST_PERIOD_DAYS: last week's winners stay in
 * Redis and in their Durable Object for a week.
 */
export const DEFAULT_PAST_PERIOD_DAYS = 7;

/**
 * The kind of period a key names. The four key formats are disjoint (`all`, `2026-12-01`,
 * `2026-W49`, `2026-12`), so the key alone says it; null for a key that names no period.
 */
export function periodKindOfKey(key: string): PeriodKind | null {
  return PERIOD_KINDS.find((kind) => isValidPeriodKey(kind, key)) ?? null;
}

/**
 * When a hot copy of a board-period (its Redis ranks, its Durable Object's storage) may go (epoch
 * ms): `pastDays` after the period ends in the board's time zone. Null for the all-time period,
 * which never ends, and for a key that names no period. Postgres keeps every record either way:
 * once a copy is gone, reads of that period (`at=` a past period) come from Postgres, with the
 * same answer.
 */
export function pastPeriodExpiryMs(
  board: { timeZone: string; weekStart: WeekStart },
  periodKey: string,
  pastDays: number,
): number | null {
  const kind = periodKindOfKey(periodKey);
  if (kind === null || kind === "all") return null;
  const range = periodRange(kind, periodKey, board.timeZone, board.weekStart);
  // Rounded: PEXPIREAT takes whole milliseconds, and a fraction of a day may not be one.
  return range ? range.end.getTime() + Math.round(pastDays * DAY_MS) : null;
}

/**
 * A `*_PAST_PERIOD_DAYS` var as a number of days (whole or fractional, >= 0). Unset or empty
 * gives the default; anything else that is not such a number throws, so a typo in wrangler.toml
 * fails loudly instead of silently keeping (or dropping) every past period.
 */
export function parsePastPeriodDays(
  value: string | undefined,
  name = "REDIS_PAST_PERIOD_DAYS",
): number {
  if (value === undefined || value.trim() === "") return DEFAULT_PAST_PERIOD_DAYS;
  const days = Number(value);
  if (!Number.isFinite(days) || days < 0) {
    throw new RangeError(
      `${name} must be a number of days >= 0 (got "${value}"): fix it in wrangler.toml [vars]`,
    );
  }
  return days;
}

/**
 * How far back a past period stays readable (`at=`): a year and a bit, so "this day last year"
 * still answers. Postgres keeps older records; bounding the keys a reader may name bounds the
 * objects and cache entries reads can create.
 */
export const READABLE_PAST_DAYS = 400;

/** The window in which events are accepted, which decides which periods can hold records. */
export interface AcceptanceWindow {
  /** Oldest occurredAt accepted, as an age (EVENTS_MAX_AGE_SECONDS). */
  maxAgeMs: number;
  /** Furthest occurredAt accepted ahead of the clock (EVENTS_MAX_FUTURE_SECONDS). */
  maxFutureMs: number;
}

/**
 * Why a board cannot have the period `key` (well-formed, of kind `kind`), or null when it can:
 * it ends before any event the board could accept (created minus the acceptance age), it starts
 * after the latest event the board could accept now, or it ended more than READABLE_PAST_DAYS
 * ago. The all-time period always exists.
 */
export function unreadablePeriod(
  kind: PeriodKind,
  key: string,
  board: { createdAt: Date; timeZone: string; weekStart: WeekStart },
  now: Date,
  window: AcceptanceWindow,
): string | null {
  if (kind === "all") return null;
  const range = periodRange(kind, key, board.timeZone, board.weekStart);
  if (range === null) return `${key} is not a ${kind} period`;
  if (range.start.getTime() > now.getTime() + window.maxFutureMs)
    return `${kind} period ${key} has not started yet`;
  if (range.end.getTime() <= board.createdAt.getTime() - window.maxAgeMs)
    return `${kind} period ${key} ended before the board existed`;
  if (range.end.getTime() < now.getTime() - READABLE_PAST_DAYS * DAY_MS) {
    return (
      `${kind} period ${key} ended more than ${READABLE_PAST_DAYS} days ago; ` +
      "older periods are not served"
    );
  }
  return null;
}

/**
 * Whole UTC days of event ids remembered for deduplication, by the day of the event's occurredAt:
 * the daily upkeep drops the partition of day D once D is before today minus this. An event is
 * accepted up to EVENTS_MAX_AGE_SECONDS (7 days) after it occurred, and its retries (queue
 * redeliveries with backoff, a backlog, a DLQ replay) may come later still: the 3 days beyond the
 * age limit are for them, and the consumer refuses what is older (dedupeHorizonMs).
 */
export const IDEMPOTENCY_WINDOW_DAYS = 10;

/** Days ahead of today the upkeep keeps event-id partitions created (a week without upkeep). */
export const IDEMPOTENCY_DAYS_AHEAD = 7;

/**
 * The oldest occurredAt the consumer writes (epoch ms): one day inside the window, so clock skew
 * between the Worker and Postgres, or an upkeep run just after midnight, can never drop the
 * partition of an event still being written. An older event could not be deduplicated: refused.
 */
export function dedupeHorizonMs(now: number): number {
  return now - (IDEMPOTENCY_WINDOW_DAYS - 1) * DAY_MS;
}

/** The UTC date (YYYY-MM-DD) `days` after the day of `now` (negative: before). */
export function utcDayFrom(now: Date, days: number): string {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days);
  return new Date(day).toISOString().slice(0, 10);
}
