import { jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** A player known to the system; display names are joined onto leaderboard pages. */
export const players = pgTable("players", {
  id: text("id").primaryKey(),
  displayName: text("display_name"),
  metadata: jsonb("metadata").$type<Record<string, unknown>>(),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

export type Player = typeof players.$inferSelect;
