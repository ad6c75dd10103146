import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  integer,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/**
 * Event figures per hour and per UTC day of occurredAt, folded from `events` by the hourly rollup
 * job (src/services/operations/rollups.ts) and read by GET /v1/admin/stats, which never scans raw
 * events. A row is per (event type, board): board_id '' for events without a board. The overall
 * row of a bucket has event_type '' (no event type is empty): its `players` are the bucket's
 * distinct players across every type and board, the daily active players for a day.
 */
export const rollups = pgTable(
  "rollups",
  {
    span: text("span", { enum: ["hour", "day"] }).notNull(),
    bucket: timestamp("bucket", { withTimezone: true, mode: "date" }).notNull(),
    eventType: text("event_type").notNull(),
    boardId: text("board_id").notNull(),
    events: bigint("events", { mode: "number" }).notNull(),
    /** Distinct players, exact (counted off rollup_players, never summed across buckets). */
    players: bigint("players", { mode: "number" }).notNull(),
    /** Events carrying a score. */
    scoreEvents: bigint("score_events", { mode: "number" }).notNull(),
    /** numeric: a sum of scores up to 2^53 each may pass bigint. */
    scoreSum: numeric("score_sum").notNull(),
    /** Null while the bucket has no score event. */
    scoreMax: bigint("score_max", { mode: "number" }),
  },
  (t) => [
    primaryKey({ name: "rollups_pkey", columns: [t.span, t.bucket, t.eventType, t.boardId] }),
    check("rollups_span_valid", sql`${t.span} in ('hour', 'day')`),
  ],
);

/**
 * The players already counted in each rollup row, so a player's later events (late ones too) do
 * not count them again. Only needed while a bucket can still receive events: the rollup job drops
 * a bucket's rows once no event can land in it any more (IDEMPOTENCY_WINDOW_DAYS after its end).
 */
export const rollupPlayers = pgTable(
  "rollup_players",
  {
    span: text("span", { enum: ["hour", "day"] }).notNull(),
    bucket: timestamp("bucket", { withTimezone: true, mode: "date" }).notNull(),
    eventType: text("event_type").notNull(),
    boardId: text("board_id").notNull(),
    playerId: text("player_id").notNull(),
  },
  (t) => [
    primaryKey({
      name: "rollup_players_pkey",
      columns: [t.span, t.bucket, t.eventType, t.boardId, t.playerId],
    }),
  ],
);

/**
 * How far the rollup job has folded `events`, by the time each was stored (its stored_at, or its
 * received_at for rows stored before that column existed): every event stamped before
 * `rolled_up_to` is in `rollups`, none after it. One row; each step moves it in the same
 * transaction as its figures, with the row locked, so overlapping runs take turns.
 */
export const rollupProgress = pgTable("rollup_progress", {
  id: text("id").primaryKey(),
  rolledUpTo: timestamp("rolled_up_to", { withTimezone: true, mode: "date" }).notNull(),
  /** The stamp span of the next step (ms), sized from the last one's density of events. */
  stepMs: integer("step_ms").notNull(),
  /** When the last run ended, and whether it reached its cutoff (false: stopped at a bound). */
  lastRunAt: timestamp("last_run_at", { withTimezone: true, mode: "date" }),
  caughtUp: boolean("caught_up").notNull().default(false),
});
