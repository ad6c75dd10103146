import { pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Board-periods whose Durable Object refused or missed a projection that the consumer gave up
 * retrying: the reconciliation cron rebuilds each object from `scores` and deletes its row, so a
 * record that cannot be projected never holds its batch (or its board) hostage.
 */
export const objectRepairs = pgTable(
  "object_repairs",
  {
    boardId: text("board_id").notNull(),
    periodKey: text("period_key").notNull(),
    /** The latest failure: a rebuild that started before it must not clear the row. */
    requestedAt: timestamp("requested_at", { withTimezone: true, mode: "date" })
      .notNull()
      .defaultNow(),
    error: text("error").notNull(),
  },
  (t) => [primaryKey({ name: "object_repairs_pkey", columns: [t.boardId, t.periodKey] })],
);
