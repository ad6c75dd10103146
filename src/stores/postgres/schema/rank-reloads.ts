import { bigint, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Redis reloads in progress, one row per board-period: the lease (who runs it, until when) and
 * the progress (build keys, keyset cursor) in one row, so a conditional update moves both at once
 * and a holder whose lease ran out cannot move the cursor. A run continues where the last one
 * stopped; the row goes when the build is swapped in and caught up.
 */
export const rankReloads = pgTable(
  "rank_reloads",
  {
    boardId: text("board_id").notNull(),
    periodKey: text("period_key").notNull(),
    /** Names the build keys in Redis (rebuildKeys). */
    buildToken: text("build_token").notNull(),
    /** Postgres time (epoch ms) the reload began: rows updated since are caught up at the end. */
    startedAt: bigint("started_at", { mode: "number" }).notNull(),
    /** Keyset cursor on the ranking order: the last row loaded; null before the first chunk. */
    afterSortScore: bigint("after_sort_score", { mode: "number" }),
    afterReachedAt: bigint("after_reached_at", { mode: "number" }),
    afterPlayerId: text("after_player_id"),
    /** Rows loaded so far; -1 once the keyset reached the end (only the catch-up and swap left). */
    rows: integer("rows").notNull().default(0),
    /** Postgres time (epoch ms) of the pre-swap catch-up: the marker the swap sets; null before. */
    builtAt: bigint("built_at", { mode: "number" }),
    /** The run holding the lease, and until when (Postgres' clock). */
    holder: text("holder").notNull(),
    leaseUntil: timestamp("lease_until", { withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [primaryKey({ name: "rank_reloads_pkey", columns: [t.boardId, t.periodKey] })],
);
