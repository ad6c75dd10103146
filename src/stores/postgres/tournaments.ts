import { and, inArray, sql } from "drizzle-orm";
import type { Database } from "./client";
import { boards, type Tournament, tournaments } from "./schema";

/** The hidden board of a tournament: "~" is outside every board id the board routes accept. */
export function tournamentBoardId(tournamentId: string): string {
  return `~t.${tournamentId}`;
}

/** True for a board id that only the tournament path may write. */
export function isTournamentBoardId(boardId: string): boolean {
  return boardId.startsWith("~");
}

export type NewTournament = Omit<Tournament, "boardId" | "createdAt">;

/**
 * Creates the tournament and its hidden board (periods ['all'] only to satisfy the board's own
 * check: instance keys come from the tournament, never from the board's periods). Null when the
 * id is taken. A board left by a failed earlier attempt is reused as it is.
 */
export async function insertTournament(
  db: Database,
  input: NewTournament,
  board: { sortOrder: "asc" | "desc"; operator: "best" | "latest" | "increment"; topSize: number },
): Promise<Tournament | null> {
  const boardId = tournamentBoardId(input.id);
  await db
    .insert(boards)
    .values({
      id: boardId,
      name: `Tournament ${input.name}`,
      sortOrder: board.sortOrder,
      operator: board.operator,
      periods: ["all"],
      topSize: board.topSize,
      public: true,
    })
    .onConflictDoNothing({ target: boards.id });
  const [row] = await db
    .insert(tournaments)
    .values({ ...input, boardId })
    .onConflictDoNothing({ target: tournaments.id })
    .returning();
  return row ?? null;
}

export async function selectTournaments(db: Database, ids: string[]): Promise<Tournament[]> {
  if (ids.length === 0) return [];
  return db.select().from(tournaments).where(inArray(tournaments.id, ids));
}

/**
 * Tournaments whose window may matter at `now` for a status, in id order after `afterId`: the
 * caller decides each one's status (a recurring one may be between instances).
 */
export async function selectTournamentPage(
  db: Database,
  status: "active" | "upcoming" | "ended",
  now: Date,
  afterId: string,
  limit: number,
): Promise<Tournament[]> {
  const window =
    status === "ended"
      ? sql`${tournaments.endsAt} <= ${now}`
      : status === "active"
        ? sql`${tournaments.startsAt} <= ${now} and (${tournaments.endsAt} is null or ${tournaments.endsAt} > ${now})`
        : sql`(${tournaments.endsAt} is null or ${tournaments.endsAt} > ${now})`;
  return db
    .select()
    .from(tournaments)
    .where(and(sql`${tournaments.id} > ${afterId}`, window))
    .orderBy(tournaments.id)
    .limit(limit);
}

/**
 * Tournaments that may have an instance left to finalise: those whose window had not closed
 * `sinceMs` ago. Bounded: the cron works through `limit` of them per run.
 */
export async function selectFinalisable(
  db: Database,
  now: Date,
  since: Date,
  limit: number,
): Promise<Tournament[]> {
  return db
    .select()
    .from(tournaments)
    .where(
      sql`${tournaments.startsAt} <= ${now} and (${tournaments.endsAt} is null or ${tournaments.endsAt} > ${since})`,
    )
    .orderBy(tournaments.id)
    .limit(limit);
}

export type JoinOutcome = "joined" | "already" | "full";

/**
 * Joins a player to an instance in one statement: the instance's place counter is taken with an
 * upsert whose conflict arm locks the row and re-reads its newest version, so 200 concurrent joins
 * for 100 places admit exactly 100; the entry is inserted only when a place was taken.
 */
export async function joinInstance(
  db: Database,
  tournamentId: string,
  instanceKey: string,
  playerId: string,
  maxPlayers: number | null,
): Promise<JoinOutcome> {
  const result = await db.execute<{ slot: number; joined: number; present: boolean }>(sql`
    with slot as (
      insert into tournament_instances as ti (tournament_id, instance_key, players)
      select ${tournamentId}, ${instanceKey}, 1
      where not exists (select 1 from tournament_entries e
                        where e.tournament_id = ${tournamentId}
                          and e.instance_key = ${instanceKey} and e.player_id = ${playerId})
      on conflict (tournament_id, instance_key) do update set players = ti.players + 1
        where ${maxPlayers}::int is null or ti.players < ${maxPlayers}::int
      returning 1
    ),
    entry as (
      insert into tournament_entries (tournament_id, instance_key, player_id)
      select ${tournamentId}, ${instanceKey}, ${playerId} from slot
      on conflict do nothing
      returning 1
    )
    select (select count(*) from slot)::int as slot, (select count(*) from entry)::int as joined,
           exists (select 1 from tournament_entries e
                   where e.tournament_id = ${tournamentId}
                     and e.instance_key = ${instanceKey} and e.player_id = ${playerId}) as present`);
  const row = result.rows[0];
  if (row && row.joined > 0) return "joined";
  if (row && row.slot > 0) {
    // The same player's concurrent join took a place for an entry that already existed: give it
    // back (only ever errs towards fewer players, never more than maxPlayers).
    await db.execute(sql`
      update tournament_instances set players = players - 1
      where tournament_id = ${tournamentId} and instance_key = ${instanceKey}`);
    return "already";
  }
  return row?.present ? "already" : "full";
}

export type AttemptOutcome = "counted" | "not_joined" | "exhausted";

/**
 * Uses one attempt of a joined player for an event, in one statement: the entry row is locked
 * (FOR UPDATE re-reads its newest version after a wait), the attempt recorded by event id (a
 * retried event uses none again) only while attempts < maxAttempts + granted, and the count bumped.
 */
export async function useAttempt(
  db: Database,
  key: { tournamentId: string; instanceKey: string; playerId: string; eventId: string },
  maxAttempts: number | null,
): Promise<AttemptOutcome> {
  const { tournamentId, instanceKey, playerId, eventId } = key;
  const result = await db.execute<{ joined: number; used: number; seen: boolean }>(sql`
    with entry as (
      select attempts, extra_attempts from tournament_entries
      where tournament_id = ${tournamentId} and instance_key = ${instanceKey}
        and player_id = ${playerId}
      for update
    ),
    used as (
      insert into tournament_attempts (tournament_id, instance_key, player_id, event_id)
      select ${tournamentId}, ${instanceKey}, ${playerId}, ${eventId} from entry
      where ${maxAttempts}::int is not null
        and entry.attempts < ${maxAttempts}::int + entry.extra_attempts
      on conflict do nothing
      returning 1
    ),
    bumped as (
      update tournament_entries set attempts = attempts + 1
      where tournament_id = ${tournamentId} and instance_key = ${instanceKey}
        and player_id = ${playerId} and exists (select 1 from used)
      returning 1
    )
    select (select count(*) from entry)::int as joined,
           (select count(*) from used)::int + (select count(*) from bumped)::int as used,
           exists (select 1 from tournament_attempts a
                   where a.tournament_id = ${tournamentId} and a.instance_key = ${instanceKey}
                     and a.player_id = ${playerId} and a.event_id = ${eventId}) as seen`);
  const row = result.rows[0];
  if (!row || row.joined === 0) return "not_joined";
  if (maxAttempts === null || row.used > 0 || row.seen) return "counted";
  return "exhausted";
}

/** Grants a joined player more attempts on an instance; false when they have not joined it. */
export async function grantAttempts(
  db: Database,
  key: { tournamentId: string; instanceKey: string; playerId: string },
  count: number,
): Promise<{ attempts: number; extraAttempts: number } | null> {
  const result = await db.execute<{ attempts: number; extra_attempts: number }>(sql`
    update tournament_entries set extra_attempts = extra_attempts + ${count}::int
    where tournament_id = ${key.tournamentId} and instance_key = ${key.instanceKey}
      and player_id = ${key.playerId}
    returning attempts, extra_attempts`);
  const row = result.rows[0];
  return row ? { attempts: row.attempts, extraAttempts: row.extra_attempts } : null;
}
