import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
} from "drizzle-orm/pg-core";
import type { BracketColumn } from "./tournaments";

/**
 * A leaderboard definition. Sort order and operator are fixed at creation (as in Nakama): changing
 * them would silently reinterpret every stored score, so a studio creates a new board instead.
 */
export const boards = pgTable(
  "boards",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** "desc": higher is better; "asc": lower is better (race times). */
    sortOrder: text("sort_order", { enum: ["desc", "asc"] }).notNull(),
    /** How a new score combines with the stored one: best, latest, or increment (sum). */
    operator: text("operator", { enum: ["best", "latest", "increment"] }).notNull(),
    /** Subset of all, daily, weekly, monthly: the period boards a score is written to. */
    periods: text("periods").array().notNull(),
    /** IANA time zone in which daily/weekly/monthly periods start. */
    timeZone: text("time_zone").notNull().default("UTC"),
    weekStart: text("week_start", { enum: ["monday", "sunday"] })
      .notNull()
      .default("monday"),
    /**
     * Bounds of every record on the board (null: the safe-integer range). A best/latest score
     * outside them is rejected at ingestion; an increment that would take a record outside them is
     * refused or clamped by the batch statement, per `scoreOverflow`.
     */
    minScore: bigint("min_score", { mode: "number" }),
    maxScore: bigint("max_score", { mode: "number" }),
    /**
     * What an out-of-range increment does: "reject" (the event moves nothing) or "clamp" (the
     * record stops at the bound).
     */
    scoreOverflow: text("score_overflow", { enum: ["reject", "clamp"] })
      .notNull()
      .default("reject"),
    /** Largest step one event may add to an increment board (null: any step within the range). */
    maxIncrement: bigint("max_increment", { mode: "number" }),
    /**
     * Most score events one player may send to this board per minute (null: no limit of its own).
     */
    maxScoreEventsPerMinute: integer("max_score_events_per_minute"),
    /**
     * Whether player tokens may move scores here. false: server-authoritative (only a server key
     * with scores:write-any writes), like Nakama's authoritative boards.
     */
    clientWrites: boolean("client_writes").notNull().default(true),
    /** Whether anyone may read the board; false: reads need a player token or a key with `read`. */
    public: boolean("public").notNull().default(true),
    /** How many entries the board's Durable Object keeps sorted in memory. */
    topSize: integer("top_size").notNull().default(1000),
    /**
     * Edge cache freshness for this board's pages, in seconds. Short by default: a player expects
     * a new score on the board within a second or two, and one refresh per PoP per TTL already
     * keeps the load off the Durable Object.
     */
    cacheTtlSeconds: integer("cache_ttl_seconds").notNull().default(2),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /**
     * When DELETE /v1/admin/boards/:board archived it (null: live). An archived board keeps its
     * records, but reads answer 410 and new events naming it are refused per item.
     */
    archivedAt: timestamp("archived_at", { withTimezone: true, mode: "date" }),
    /**
     * Prize brackets awarded when each daily/weekly/monthly period ends, as a tournament's (empty:
     * none). Finalised by the every-minute finalisation job (services/board-prizes.ts).
     */
    prizes: jsonb("prizes").$type<BracketColumn[]>().notNull().default([]),
    /**
     * When the prizes last changed: only periods ending after it are awarded, so attaching prizes
     * does not award a past period nobody competed for them in.
     */
    prizesSince: timestamp("prizes_since", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    check(
      "boards_periods_valid",
      sql`${t.periods} <@ array['all','daily','weekly','monthly']::text[] and cardinality(${t.periods}) > 0`,
    ),
    // Serves the finalisation job's scan for boards with prizes (few among many boards).
    index("boards_prizes_idx").on(t.id).where(sql`${t.prizes} <> '[]'::jsonb`),
    check("boards_top_size_range", sql`${t.topSize} between 1 and 10000`),
    check("boards_score_overflow_valid", sql`${t.scoreOverflow} in ('reject', 'clamp')`),
    check("boards_max_increment_positive", sql`${t.maxIncrement} is null or ${t.maxIncrement} > 0`),
    check(
      "boards_max_score_events_positive",
      sql`${t.maxScoreEventsPerMinute} is null or ${t.maxScoreEventsPerMinute} > 0`,
    ),
  ],
);

export type Board = typeof boards.$inferSelect;
export type NewBoard = typeof boards.$inferInsert;
