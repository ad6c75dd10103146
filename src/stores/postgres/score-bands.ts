import { type SQL, sql } from "drizzle-orm";

// SQL fragments over score_buckets (src/stores/postgres/schema/score-buckets.ts), shared by every
// query that counts records of a board-period without reading them: ranks, totals, rebuilds.

/** Records of a board-period: the sum of its band counts. */
export function recordsOf(boardId: SQL, periodKey: SQL): SQL {
  return sql`(select coalesce(sum(b.records), 0) from score_buckets b
    where b.board_id = ${boardId} and b.period_key = ${periodKey})`;
}

// Queries call score_bucket_of / score_bucket_start_of, the not-inlined forms of the band
// functions (migrations/0007_query_score_buckets.sql): inlining them cost more planning than the
// count itself.

/** Records of a board-period in the bands before the band of `sortScore` (all of them better). */
export function bandsBefore(boardId: SQL, periodKey: SQL, sortScore: SQL): SQL {
  return sql`(select coalesce(sum(b.records), 0) from score_buckets b
    where b.board_id = ${boardId} and b.period_key = ${periodKey}
      and b.bucket < score_bucket_of(${sortScore}))`;
}

/**
 * The condition on `scores` alias `x` that keeps the rows of `sortScore`'s band up to `sortScore`.
 */
export function inBandUpTo(sortScore: SQL): SQL {
  return sql`x.sort_score >= score_bucket_start_of(${sortScore}) and x.sort_score <= ${sortScore}`;
}

/**
 * When a statement's counts were taken: its start time in epoch microseconds, from the database's
 * one clock, so counts read by different consumers and rebuilds order correctly (CountedTotal.at).
 */
export const COUNTED_AT = sql`(extract(epoch from statement_timestamp()) * 1000000)::bigint`;
