import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/**
 * Players banned everywhere. The consumer's batch statement skips every score contribution of a
 * player listed here (events are still stored), so a ban wins over events already queued; the
 * ingest route rejects their new events per item (PLAYER_BANNED) from a per-isolate copy.
 */
export const playerBans = pgTable("player_bans", {
  playerId: text("player_id").primaryKey(),
  reason: text("reason").notNull(),
  /** The credential that banned (see moderation_audit.actor). */
  bannedBy: text("banned_by").notNull(),
  bannedAt: timestamp("banned_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/**
 * A banned player's records, moved out of `scores` (so every read, count and band total leaves
 * them out without a filter) and moved back by an unban. Same columns as `scores`.
 */
export const heldScores = pgTable(
  "held_scores",
  {
    boardId: text("board_id").notNull(),
    periodKey: text("period_key").notNull(),
    playerId: text("player_id").notNull(),
    score: bigint("score", { mode: "number" }).notNull(),
    sortScore: bigint("sort_score", { mode: "number" }).notNull(),
    reachedAt: timestamp("reached_at", {
      withTimezone: true,
      mode: "date",
      precision: 3,
    }).notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    version: bigint("version", { mode: "number" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    heldAt: timestamp("held_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "held_scores_pkey", columns: [t.boardId, t.periodKey, t.playerId] }),
    index("held_scores_player_idx").on(t.playerId),
  ],
);

/**
 * The last version of each record a moderator removed: a record created again later starts past
 * it (persist-batch.ts), so the projections' version guards tell it from a stale projection of
 * the removed one still in flight. Tiny (one row per removed record), never pruned.
 */
export const scoreTombstones = pgTable(
  "score_tombstones",
  {
    boardId: text("board_id").notNull(),
    periodKey: text("period_key").notNull(),
    playerId: text("player_id").notNull(),
    version: bigint("version", { mode: "number" }).notNull(),
    removedAt: timestamp("removed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "score_tombstones_pkey", columns: [t.boardId, t.periodKey, t.playerId] }),
  ],
);

/** Every moderation action: who (the credential), what, when, why, on whom, and what it moved. */
export const moderationAudit = pgTable(
  "moderation_audit",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** "admin" (ADMIN_KEY) or "key:<prefix>" (a server key). */
    actor: text("actor").notNull(),
    /** "remove", "ban", "unban". */
    action: text("action").notNull(),
    playerId: text("player_id").notNull(),
    /** The board (remove); null for bans. */
    boardId: text("board_id"),
    /** The period (remove of one period); null: all periods, or a ban. */
    periodKey: text("period_key"),
    reason: text("reason"),
    /** Records removed, hidden or restored. */
    records: integer("records").notNull(),
    /** Action specifics (e.g. whether a ban was already in place). */
    detail: jsonb("detail").$type<Record<string, unknown>>(),
  },
  (t) => [index("moderation_audit_player_idx").on(t.playerId, t.id)],
);

export type AuditRow = typeof moderationAudit.$inferSelect;
