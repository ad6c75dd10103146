import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { ScoreChange } from "../../domain/records";
import type { Database, SessionDatabase } from "./client";
import { type AuditRow, moderationAudit, playerBans } from "./schema";

/** A record a moderation action took out of `scores`: its last version, for the projections. */
export interface TakenRecord {
  boardId: string;
  periodKey: string;
  playerId: string;
  version: number;
}

/** The audit row every action writes, in the action's own transaction. */
export interface AuditInput {
  actor: string;
  reason: string | null;
}

type Tx = Parameters<Parameters<SessionDatabase["transaction"]>[0]>[0];

/**
 * How long an action waits for the score lock before giving up (the admin call then fails and
 * may be retried): batches hold it for a statement each, so a longer wait means trouble.
 */
const LOCK_TIMEOUT = "5s";

/**
 * Every moderation action runs under this lock. SHARE ROW EXCLUSIVE conflicts with the row locks
 * of the consumer's batch statement (and with itself): the action waits for batches already
 * writing to commit, and batches that start meanwhile wait for the action, then plan and read
 * with a snapshot that has it. So a ban always wins over an event in flight, and the versions an
 * action reads are the last ones any batch wrote.
 */
async function lockScores(tx: Tx): Promise<void> {
  await tx.execute(sql.raw(`set local lock_timeout = '${LOCK_TIMEOUT}'`));
  await tx.execute(sql`lock table scores in share row exclusive mode`);
}

type RawTaken = { board_id: string; period_key: string; player_id: string; version: string };
const toTaken = (r: RawTaken): TakenRecord => ({
  boardId: r.board_id,
  periodKey: r.period_key,
  playerId: r.player_id,
  version: Number(r.version),
});

async function audit(
  tx: Tx,
  input: AuditInput,
  row: Pick<AuditRow, "action" | "playerId" | "boardId" | "periodKey" | "records" | "detail">,
): Promise<AuditRow> {
  const [written] = await tx
    .insert(moderationAudit)
    .values({ ...row, actor: input.actor, reason: input.reason })
    .returning();
  if (!written) throw new Error("moderation: the audit row was not written");
  return written;
}

/**
 * Deletes a player's records of one board (one period, or all when `periodKey` is null), held
 * ones of a banned player included, remembers their versions (score_tombstones) and audits it.
 */
export async function deleteRecords(
  db: SessionDatabase,
  target: { boardId: string; periodKey: string | null; playerId: string },
  input: AuditInput,
): Promise<{ removed: TakenRecord[]; audit: AuditRow }> {
  const where = (table: string): SQL =>
    sql`${sql.raw(table)}.board_id = ${target.boardId} and ${sql.raw(table)}.player_id = ${target.playerId}
        ${target.periodKey === null ? sql`` : sql`and ${sql.raw(table)}.period_key = ${target.periodKey}`}`;
  return db.transaction(async (tx) => {
    await lockScores(tx);
    const result = await tx.execute<RawTaken>(sql`
      with gone as (
        delete from scores where ${where("scores")}
        returning board_id, period_key, player_id, version
      ),
      held_gone as (
        delete from held_scores where ${where("held_scores")}
        returning board_id, period_key, player_id, version
      ),
      taken as (select * from gone union all select * from held_gone),
      remembered as (
        insert into score_tombstones (board_id, period_key, player_id, version)
        select board_id, period_key, player_id, version from taken
        on conflict (board_id, period_key, player_id) do update
          set version = greatest(score_tombstones.version, excluded.version), removed_at = now()
        returning 1
      )
      select board_id, period_key, player_id, version::text, (select count(*) from remembered)
      from taken`);
    const removed = result.rows.map(toTaken);
    const row = await audit(tx, input, {
      action: "remove",
      playerId: target.playerId,
      boardId: target.boardId,
      periodKey: target.periodKey,
      records: removed.length,
      detail: null,
    });
    return { removed, audit: row };
  });
}

/**
 * Bans a player (a ban already in place keeps its first reason and time) and moves every record
 * of theirs into held_scores, out of every board. Returns the ban as stored and what was hidden.
 */
export async function banPlayer(
  db: SessionDatabase,
  playerId: string,
  input: AuditInput & { reason: string },
) {
  return db.transaction(async (tx) => {
    await lockScores(tx);
    const inserted = await tx
      .insert(playerBans)
      .values({ playerId, reason: input.reason, bannedBy: input.actor })
      .onConflictDoNothing()
      .returning();
    const result = await tx.execute<RawTaken>(sql`
      with moved as (
        delete from scores where player_id = ${playerId}
        returning board_id, period_key, player_id, score, sort_score, reached_at, metadata,
                  version, updated_at
      )
      insert into held_scores (board_id, period_key, player_id, score, sort_score, reached_at,
                               metadata, version, updated_at)
      select * from moved
      on conflict (board_id, period_key, player_id) do nothing
      returning board_id, period_key, player_id, version::text`);
    const hidden = result.rows.map(toTaken);
    const [ban] = await tx.select().from(playerBans).where(eq(playerBans.playerId, playerId));
    if (!ban) throw new Error("moderation: the ban row vanished inside its transaction");
    const row = await audit(tx, input, {
      action: "ban",
      playerId,
      boardId: null,
      periodKey: null,
      records: hidden.length,
      detail: { alreadyBanned: inserted.length === 0 },
    });
    return { ban, hidden, audit: row };
  });
}

type RawRestored = RawTaken & {
  score: string;
  reached_at: string;
  metadata: Record<string, unknown> | null;
  display_name: string | null;
};

/**
 * Lifts a ban and moves the held records back, each one version on (so the projections, which
 * remember the version they removed, take it as new). Null when the player was not banned.
 */
export async function unbanPlayer(db: SessionDatabase, playerId: string, input: AuditInput) {
  return db.transaction(async (tx) => {
    await lockScores(tx);
    const lifted = await tx.delete(playerBans).where(eq(playerBans.playerId, playerId)).returning();
    if (lifted.length === 0) return null;
    const result = await tx.execute<RawRestored>(sql`
      with back as (
        delete from held_scores where player_id = ${playerId}
        returning board_id, period_key, player_id, score, sort_score, reached_at, metadata,
                  version
      ),
      restored as (
        insert into scores (board_id, period_key, player_id, score, sort_score, reached_at,
                            metadata, version, updated_at)
        select board_id, period_key, player_id, score, sort_score, reached_at, metadata,
               version + 1, now()
        from back
        on conflict (board_id, period_key, player_id) do nothing
        returning board_id, period_key, player_id, score, reached_at, metadata, version
      )
      select r.board_id, r.period_key, r.player_id, r.score::text, r.reached_at, r.metadata,
             r.version::text, p.display_name
      from restored r left join players p on p.id = r.player_id`);
    const restored: ScoreChange[] = result.rows.map((r) => ({
      ...toTaken(r),
      score: Number(r.score),
      reachedAt: Date.parse(r.reached_at),
      changed: true,
      displayName: r.display_name,
      metadata: r.metadata,
    }));
    const row = await audit(tx, input, {
      action: "unban",
      playerId,
      boardId: null,
      periodKey: null,
      records: restored.length,
      detail: null,
    });
    return { restored, audit: row };
  });
}

/** Every banned player's id (the ingest route's copy; bans are few). */
export async function bannedPlayerIds(db: Database): Promise<string[]> {
  const rows = await db.select({ id: playerBans.playerId }).from(playerBans);
  return rows.map((r) => r.id);
}

/** Audit rows, newest first, strictly before `beforeId` when given, of one player when given. */
export async function auditRows(
  db: Database,
  options: { limit: number; beforeId?: number | undefined; playerId?: string | undefined },
): Promise<AuditRow[]> {
  const where: SQL[] = [];
  if (options.beforeId !== undefined) where.push(lt(moderationAudit.id, options.beforeId));
  if (options.playerId !== undefined) where.push(eq(moderationAudit.playerId, options.playerId));
  return db
    .select()
    .from(moderationAudit)
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(moderationAudit.id))
    .limit(options.limit);
}
