import { pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Board-periods whose Redis rank keys missed a projection (Upstash was down or slow when the
 * consumer wrote): the reconciliation cron re-applies the records updated since `since` (or reloads
 * the whole board-period) from `scores` and deletes its row. One row
 * per board-period however many writes failed, so an outage costs a few rows, not one per event.
 */
export const rankResync = pgTable(
  "rank_resync",
  {
    boardId: text("board_id").notNull(),
    periodKey: text("period_key").notNull(),
    /** The latest failed write: a reload that started before it must not clear the row. */
    requestedAt: timestamp("requested_at", { withTimezone: true, mode: "date" })
      .notNull()
      .defaultNow(),
    /**
     * Re-apply the records updated since this time (a failed projection); null: reload the whole
     * board-period (its keys were found behind). Merged with the earliest, null winning.
     */
    since: timestamp("since", { withTimezone: true, mode: "date" }),
  },
  (t) => [primaryKey({ name: "rank_resync_pkey", columns: [t.boardId, t.periodKey] })],
);
