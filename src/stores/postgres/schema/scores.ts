import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/**
 * One record per (board, period, player): the system of record for every leaderboard. The
 * Durable Object top-N and the Redis sorted sets are projections of this table.
 */
export const scores = pgTable(
  "scores",
  {
    // No foreign key to boards: it would cost a trigger query per upserted row on the hottest
    // write path. The consumer joins boards (records of unknown boards are never written) and
    // deleting a board deletes its scores explicitly.
    boardId: text("board_id").notNull(),
    /** "all", "2026-11-22", "2026-W47", "2026-11": computed in the board's time zone. */
    periodKey: text("period_key").notNull(),
    playerId: text("player_id").notNull(),
    score: bigint("score", { mode: "number" }).notNull(),
    /**
     * The score as the board orders it, smaller is better: -score on "desc" boards, score on "asc"
     * boards. It lets one ascending index serve both sort orders, and a rank be one index range
     * count: (sort_score, reached_at, player_id) < (mine).
     */
    sortScore: bigint("sort_score", { mode: "number" }).notNull(),
    /** When the player first reached this score: the tie-break (earlier ranks higher). */
    reachedAt: timestamp("reached_at", {
      withTimezone: true,
      mode: "date",
      precision: 3,
    }).notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    /**
     * Bumped by every update under the row lock, so it follows commit order: projections (the
     * board's Durable Object) apply a record only if its version is newer than what they hold,
     * which makes out-of-order and repeated projections harmless.
     */
    version: bigint("version", { mode: "number" }).notNull().default(1),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "scores_pkey", columns: [t.boardId, t.periodKey, t.playerId] }),
    // Serves: top-N pages (keyset cursor), rank of a player (count of rows before it), around-me,
    // rank-of a hypothetical score, and DO rebuilds (first topSize rows).
    index("scores_rank_idx").on(t.boardId, t.periodKey, t.sortScore, t.reachedAt, t.playerId),
    // Serves: "my ranks on every board" (GET /v1/players/:player/ranks).
    index("scores_player_idx").on(t.playerId),
    // Serves: the Redis reload's catch-up scans (rows of one board-period updated since a time,
    // rank-reload.ts movedRows), which without it read the whole board-period through scores_pkey.
    index("scores_updated_idx").on(t.boardId, t.periodKey, t.updatedAt),
    // Every projection (Durable Object, Redis, JSON numbers) holds scores as doubles: a record
    // outside the safe-integer range could never be projected, so it can never be stored.
    check(
      "scores_score_safe",
      sql`${t.score} between -9007199254740991 and 9007199254740991 and ${t.sortScore} between -9007199254740991 and 9007199254740991`,
    ),
  ],
);

export type ScoreRow = typeof scores.$inferSelect;
