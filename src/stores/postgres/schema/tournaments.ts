import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { boards } from "./boards";

/** A time-boxed competition with its own board (the board holds its records and ranks). */
export const tournaments = pgTable(
  "tournaments",
  {
    id: text("id").primaryKey(),
    boardId: text("board_id")
      .notNull()
      .references(() => boards.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    startsAt: timestamp("starts_at", { withTimezone: true, mode: "date" }).notNull(),
    endsAt: timestamp("ends_at", { withTimezone: true, mode: "date" }).notNull(),
    maxPlayers: integer("max_players"),
    joinRequired: boolean("join_required").notNull().default(false),
    /** scheduled → active → finalised; finalisation awards prizes exactly once. */
    status: text("status", { enum: ["scheduled", "active", "finalised"] })
      .notNull()
      .default("scheduled"),
    /** Prize brackets: [{fromRank, toRank, reward}], applied at finalisation. */
    prizeBrackets: jsonb("prize_brackets").$type<Array<{ fromRank: number; toRank: number; reward: Record<string, unknown> }>>(),
    playerCount: integer("player_count").notNull().default(0),
    finalisedAt: timestamp("finalised_at", { withTimezone: true, mode: "date" }),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    // Serves: the finalisation cron ("ended and not finalised", oldest first, bounded batch).
    index("tournaments_due_idx").on(t.endsAt).where(sql`${t.status} <> 'finalised'`),
  ],
);

export const tournamentEntries = pgTable(
  "tournament_entries",
  {
    tournamentId: text("tournament_id")
      .notNull()
      .references(() => tournaments.id, { onDelete: "cascade" }),
    playerId: text("player_id").notNull(),
    joinedAt: timestamp("joined_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "tournament_entries_pkey", columns: [t.tournamentId, t.playerId] }),
    // Serves: "tournaments I joined".
    index("tournament_entries_player_idx").on(t.playerId),
  ],
);

/** A prize awarded at finalisation; unique per (tournament, player) so awarding twice is a no-op. */
export const prizes = pgTable(
  "prizes",
  {
    tournamentId: text("tournament_id")
      .notNull()
      .references(() => tournaments.id, { onDelete: "cascade" }),
    playerId: text("player_id").notNull(),
    rank: integer("rank").notNull(),
    reward: jsonb("reward").$type<Record<string, unknown>>().notNull(),
    awardedAt: timestamp("awarded_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** Set once by the first claim; a repeated claim returns the same result (idempotent). */
    claimedAt: timestamp("claimed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    primaryKey({ name: "prizes_pkey", columns: [t.tournamentId, t.playerId] }),
    // Serves: a player's pending (unclaimed) prizes; small because claimed rows are excluded.
    index("prizes_unclaimed_idx").on(t.playerId).where(sql`${t.claimedAt} is null`),
  ],
);
