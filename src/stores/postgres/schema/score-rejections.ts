import { bigint, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Accepted events that moved no score because the board's bounds refused them (an increment that
 * would take a record past minScore/maxScore or the safe-integer range, on a "reject" board). The
 * client had its 202 long before, so this is where a studio finds what was refused and why.
 * Kept REFUSAL_RETENTION_DAYS (the daily upkeep prunes older rows).
 */
export const scoreRejections = pgTable(
  "score_rejections",
  {
    eventId: text("event_id").primaryKey(),
    boardId: text("board_id").notNull(),
    playerId: text("player_id").notNull(),
    /** The per-item code a synchronous check would have answered (SCORE_OUT_OF_RANGE). */
    code: text("code").notNull(),
    score: bigint("score", { mode: "number" }),
    rejectedAt: timestamp("rejected_at", { withTimezone: true, mode: "date" })
      .notNull()
      .defaultNow(),
  },
  (t) => [index("score_rejections_rejected_idx").on(t.rejectedAt)],
);
