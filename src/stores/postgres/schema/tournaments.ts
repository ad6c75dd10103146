import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/** A recurring schedule: every day/week/month at a local time, for a duration (domain/tournaments). */
export interface ScheduleColumn {
  every: "day" | "week" | "month";
  at: string;
  timeZone: string;
  durationMinutes: number;
  weekday?: number | undefined;
  dayOfMonth?: number | undefined;
}

/** One prize bracket as declared: a rank range or a top share; `reward` is the game's JSON. */
export type BracketColumn =
  | { fromRank: number; toRank: number; reward: unknown }
  | { topPercent: number; reward: unknown };

/**
 * A tournament. Its scores live on a hidden board (`boardId`, never listed nor addressable by the
 * board routes), one board-period per instance, so events, the consumer, the Durable Objects,
 * Redis and the page cache treat them like any other board-period.
 */
export const tournaments = pgTable(
  "tournaments",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    boardId: text("board_id").notNull().unique(),
    /** First instant an instance may run (the only instance's start without a schedule). */
    startsAt: timestamp("starts_at", { withTimezone: true, mode: "date", precision: 3 }).notNull(),
    /** End of the only instance, or of the schedule (null: recurs for ever). */
    endsAt: timestamp("ends_at", { withTimezone: true, mode: "date", precision: 3 }),
    schedule: jsonb("schedule").$type<ScheduleColumn>(),
    maxPlayers: integer("max_players"),
    joinRequired: boolean("join_required").notNull().default(false),
    maxAttempts: integer("max_attempts"),
    prizes: jsonb("prizes").$type<BracketColumn[]>().notNull().default([]),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("tournaments_window", sql`${t.endsAt} is null or ${t.endsAt} > ${t.startsAt}`),
    check("tournaments_max_players", sql`${t.maxPlayers} is null or ${t.maxPlayers} > 0`),
    check("tournaments_max_attempts", sql`${t.maxAttempts} is null or ${t.maxAttempts} > 0`),
    // Serves GET /v1/tournaments?status= and the finalisation cron (windows not long over).
    index("tournaments_window_idx").on(t.startsAt, t.endsAt),
  ],
);

export type Tournament = typeof tournaments.$inferSelect;

/**
 * One row per instance someone joined: `players` is the place counter that joins take under the
 * row lock (an upsert's conflict arm re-reads the newest row), so a full instance stays full.
 */
export const tournamentInstances = pgTable(
  "tournament_instances",
  {
    tournamentId: text("tournament_id")
      .notNull()
      .references(() => tournaments.id, { onDelete: "cascade" }),
    instanceKey: text("instance_key").notNull(),
    players: integer("players").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tournamentId, t.instanceKey] })],
);

/** Who joined an instance, and the attempts they used and were granted there. */
export const tournamentEntries = pgTable(
  "tournament_entries",
  {
    tournamentId: text("tournament_id").notNull(),
    instanceKey: text("instance_key").notNull(),
    playerId: text("player_id").notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** Granted by POST /v1/admin/tournaments/:id/attempts on top of maxAttempts. */
    extraAttempts: integer("extra_attempts").notNull().default(0),
    joinedAt: timestamp("joined_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tournamentId, t.instanceKey, t.playerId] }),
    index("tournament_entries_player_idx").on(t.playerId),
  ],
);

/**
 * The events that used an attempt, by id: a retried event (same id) uses none again, the same
 * way the events themselves are idempotent.
 */
export const tournamentAttempts = pgTable(
  "tournament_attempts",
  {
    tournamentId: text("tournament_id").notNull(),
    instanceKey: text("instance_key").notNull(),
    playerId: text("player_id").notNull(),
    eventId: text("event_id").notNull(),
    usedAt: timestamp("used_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tournamentId, t.instanceKey, t.playerId, t.eventId] })],
);

/**
 * The once-only record of an instance's end: its primary key is what makes an alarm, the cron and
 * an operator finalising at the same moment award once (insert-if-absent in the same statement as
 * the standings and prizes). The consumer skips scores for a finalised board-period.
 */
export const tournamentFinalisations = pgTable(
  "tournament_finalisations",
  {
    tournamentId: text("tournament_id").notNull(),
    instanceKey: text("instance_key").notNull(),
    boardId: text("board_id").notNull(),
    players: integer("players").notNull(),
    finalisedAt: timestamp("finalised_at", { withTimezone: true, mode: "date" })
      .notNull()
      .defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tournamentId, t.instanceKey] }),
    // Serves the consumer's "is this board-period closed" probe.
    uniqueIndex("tournament_finalisations_board_idx").on(t.boardId, t.instanceKey),
  ],
);

/** The frozen standings of a finalised instance: what its reads answer from then on. */
export const tournamentStandings = pgTable(
  "tournament_standings",
  {
    tournamentId: text("tournament_id").notNull(),
    instanceKey: text("instance_key").notNull(),
    rank: integer("rank").notNull(),
    playerId: text("player_id").notNull(),
    displayName: text("display_name"),
    score: bigint("score", { mode: "number" }).notNull(),
    reachedAt: timestamp("reached_at", {
      withTimezone: true,
      mode: "date",
      precision: 3,
    }).notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
  },
  (t) => [
    primaryKey({ columns: [t.tournamentId, t.instanceKey, t.rank] }),
    // Serves a player's rank and around-me in a finalised instance (GET .../players/:player).
    uniqueIndex("tournament_standings_player_idx").on(t.tournamentId, t.instanceKey, t.playerId),
  ],
);

/** A prize awarded at finalisation; claimed once (claimed_at is set once and never moves). */
export const prizes = pgTable(
  "prizes",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    tournamentId: text("tournament_id").notNull(),
    instanceKey: text("instance_key").notNull(),
    playerId: text("player_id").notNull(),
    rank: integer("rank").notNull(),
    reward: jsonb("reward").notNull(),
    awardedAt: timestamp("awarded_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    claimedAt: timestamp("claimed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    uniqueIndex("prizes_award_idx").on(t.tournamentId, t.instanceKey, t.playerId),
    // Serves GET /v1/players/:player/prizes?status=pending (a player's unclaimed prizes).
    index("prizes_pending_idx").on(t.playerId, t.id).where(sql`${t.claimedAt} is null`),
    index("prizes_player_idx").on(t.playerId, t.id),
  ],
);

export type Prize = typeof prizes.$inferSelect;
