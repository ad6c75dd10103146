import { bigint, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

/**
 * How many records of a board-period fall in each band of sort_score, kept by statement-level
 * triggers on `scores` (migrations/0006_score_buckets.sql) in the same transaction as every
 * write, so they are exact at every snapshot. They make the Postgres fallback's ranks cheap: the
 * rows before a position are the counts of the bands before its band (a few thousand rows at
 * most) plus one index range inside its own band, instead of an index range from rank 1.
 *
 * Bands (the SQL function score_bucket): every |sort_score| below 128 is a band of its own, and
 * above that each power of two is cut into 64 bands, so a band spans under 1/64 of its values.
 * Negative sort scores (desc boards) mirror that, and the order of bands is the order of scores.
 * No foreign key: rows of a deleted board are zero counts, swept by upkeep.
 */
export const scoreBuckets = pgTable(
  "score_buckets",
  {
    boardId: text("board_id").notNull(),
    periodKey: text("period_key").notNull(),
    bucket: bigint("bucket", { mode: "number" }).notNull(),
    records: bigint("records", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "score_buckets_pkey", columns: [t.boardId, t.periodKey, t.bucket] })],
);
