/**
 * The rollups' rules: bucket spans, the bounds of a run, what a stats query may ask, and how fresh
 * an answer is. The folding itself is SQL (src/stores/postgres/rollups.ts).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const ROLLUP_SPANS = ["hour", "day"] as const;
export type RollupSpan = (typeof ROLLUP_SPANS)[number];

const SPAN_MS: Record<RollupSpan, number> = { hour: HOUR_MS, day: DAY_MS };

/**
 * Events stored less than this long before a run are left to the next one. A row's stored_at is
 * taken while its batch statement runs and becomes visible only when it commits, so a step must
 * not pass a stamp a statement still running could write; no batch statement runs for minutes.
 */
export const SETTLE_MS = 2 * 60_000;

/** What one run may do: events folded, and seconds spent (no new step starts past it). */
export interface RollupBounds {
  maxRows: number;
  maxSeconds: number;
}

const DEFAULT_ROLLUP_BOUNDS: RollupBounds = { maxRows: 1_000_000, maxSeconds: 60 };

/**
 * Rows per step (one transaction): small enough that a step's locks and its sort stay short, large
 * enough that a backlog of millions takes tens of steps, not thousands.
 */
export const ROLLUP_STEP_ROWS = 20_000;

/**
 * ROLLUP_MAX_ROWS and ROLLUP_MAX_SECONDS as bounds: unset or empty gives the default; anything
 * but a positive number throws, so a typo in wrangler.toml fails the run loudly (job_runs shows it)
 * instead of folding without a bound.
 */
export function parseRollupBounds(vars: {
  ROLLUP_MAX_ROWS?: string | undefined;
  ROLLUP_MAX_SECONDS?: string | undefined;
}): RollupBounds {
  const parse = (name: string, value: string | undefined, fallback: number) => {
    if (value === undefined || value.trim() === "") return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new RangeError(
        `${name} must be a number > 0 (got "${value}"): fix wrangler.toml [vars]`,
      );
    return n;
  };
  return {
    maxRows: Math.floor(
      parse("ROLLUP_MAX_ROWS", vars.ROLLUP_MAX_ROWS, DEFAULT_ROLLUP_BOUNDS.maxRows),
    ),
    maxSeconds: parse(
      "ROLLUP_MAX_SECONDS",
      vars.ROLLUP_MAX_SECONDS,
      DEFAULT_ROLLUP_BOUNDS.maxSeconds,
    ),
  };
}

/** The start of the bucket of `span` holding `at` (UTC hours and days). */
export function bucketStart(span: RollupSpan, at: Date): Date {
  return new Date(Math.floor(at.getTime() / SPAN_MS[span]) * SPAN_MS[span]);
}

/** The longest range one stats query may cover, per granularity: 31 days of hours, 400 days. */
const MAX_STATS_RANGE_MS: Record<RollupSpan, number> = {
  hour: 31 * DAY_MS,
  day: 400 * DAY_MS,
};

/**
 * Why a stats range cannot be answered, or null: `from` after `to`, or longer than its
 * granularity allows (MAX_STATS_RANGE_MS), which bounds the rows one answer reads.
 */
export function statsRangeProblem(span: RollupSpan, from: Date, to: Date): string | null {
  if (from.getTime() > to.getTime()) return "from must not be after to";
  if (to.getTime() - from.getTime() > MAX_STATS_RANGE_MS[span]) {
    const days = MAX_STATS_RANGE_MS[span] / DAY_MS;
    return `a ${span} range may cover at most ${days} days`;
  }
  return null;
}

/** How current the rollups are, as GET /v1/admin/stats states it. */
export interface RollupFreshness {
  /** Every event stored before this instant is counted, none stored after it; null: none yet. */
  rolledUpTo: Date | null;
  /** The bucket holding rolledUpTo: its figures (and any later bucket's) are partial. */
  partialFrom: Date | null;
  /**
   * Buckets from this one on may still change when late events arrive (occurredAt up to
   * maxAgeMs in the past): the bucket of rolledUpTo minus the acceptance window.
   */
  openFrom: Date | null;
}

export function rollupFreshness(
  span: RollupSpan,
  rolledUpTo: Date | null,
  maxAgeMs: number,
): RollupFreshness {
  if (rolledUpTo === null) return { rolledUpTo: null, partialFrom: null, openFrom: null };
  return {
    rolledUpTo,
    partialFrom: bucketStart(span, rolledUpTo),
    openFrom: bucketStart(span, new Date(rolledUpTo.getTime() - maxAgeMs)),
  };
}
