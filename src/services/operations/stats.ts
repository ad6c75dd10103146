import { bucketStart, type RollupSpan, rollupFreshness } from "../../domain";
import type { Database } from "../../stores/postgres/client";
import { readRollupProgress, readRollups } from "../../stores/postgres/rollups";

/** Rows one answer carries at most (31 days of hours x many types and boards could be more). */
const MAX_ROWS = 5_000;

export interface StatsQuery {
  span: RollupSpan;
  from: Date;
  to: Date;
  type?: string | undefined;
  board?: string | undefined;
  /** The acceptance window's age (EVENTS_MAX_AGE_SECONDS): how far back late events reach. */
  maxAgeMs: number;
  now: Date;
}

/**
 * What GET /v1/admin/stats answers, from the rollups only (never the raw events): per bucket of
 * [from, to) (from rounded down to its bucket), the overall figures and the figures per (type,
 * board), with how fresh they are.
 */
export async function readStats(db: Database, query: StatsQuery) {
  const from = bucketStart(query.span, query.from);
  const [rows, progress] = await Promise.all([
    readRollups(db, {
      span: query.span,
      from,
      to: query.to,
      type: query.type,
      board: query.board,
      limit: MAX_ROWS + 1,
    }),
    readRollupProgress(db),
  ]);
  const truncated = rows.length > MAX_ROWS;
  const kept = rows.slice(0, MAX_ROWS);
  const freshness = rollupFreshness(query.span, progress?.rolledUpTo ?? null, query.maxAgeMs);
  const figures = (r: (typeof kept)[number]) => ({
    events: r.events,
    players: r.players,
    scoreEvents: r.scoreEvents,
    scoreSum: r.scoreSum,
    scoreMax: r.scoreMax,
  });
  return {
    granularity: query.span,
    from: from.toISOString(),
    to: query.to.toISOString(),
    generatedAt: query.now.toISOString(),
    rolledUpTo: freshness.rolledUpTo?.toISOString() ?? null,
    partialFrom: freshness.partialFrom?.toISOString() ?? null,
    openFrom: freshness.openFrom?.toISOString() ?? null,
    lastRunAt: progress?.lastRunAt?.toISOString() ?? null,
    caughtUp: progress?.caughtUp ?? false,
    truncated,
    overall: kept
      .filter((r) => r.eventType === "")
      .map((r) => ({ bucket: r.bucket.toISOString(), ...figures(r) })),
    series: kept
      .filter((r) => r.eventType !== "")
      .map((r) => ({
        bucket: r.bucket.toISOString(),
        type: r.eventType,
        board: r.boardId === "" ? null : r.boardId,
        ...figures(r),
      })),
  };
}
