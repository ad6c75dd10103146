import { sql } from "drizzle-orm";
import type { Bracket } from "../../domain";
import type { Database } from "./client";

export interface FinaliseResult {
  /** True for the one call that froze the instance; every other call finds it done. */
  finalisedNow: boolean;
  standings: number;
  prizes: number;
}

/**
 * Freezes an instance's standings and awards its prizes, once: the finalisation row is inserted
 * if absent, and the standings and prizes are written in the same statement only when this call
 * inserted it. An alarm, the cron and an operator finalising at the same moment each run this; the
 * primary key makes all but one of them wait and then find the row, so prizes are awarded once.
 * Ranks follow the board order (sort_score, then reached_at, then player id): ties at a bracket's
 * edge are broken by who reached the score first, as on the board.
 */
export async function finaliseStandings(
  db: Database,
  instance: { tournamentId: string; instanceKey: string; boardId: string },
  brackets: readonly Bracket[],
): Promise<FinaliseResult> {
  const { tournamentId, instanceKey, boardId } = instance;
  const result = await db.execute<{ finalised: number; standings: number; prizes: number }>(sql`
    with fin as (
      insert into tournament_finalisations (tournament_id, instance_key, board_id, players)
      select ${tournamentId}, ${instanceKey}, ${boardId},
             (select count(*) from scores where board_id = ${boardId} and period_key = ${instanceKey})
      on conflict do nothing
      returning 1
    ),
    ranked as (
      select s.player_id, s.score, s.reached_at, s.metadata, p.display_name,
             row_number() over (order by s.sort_score, s.reached_at, s.player_id) as rank,
             count(*) over () as total
      from scores s
      left join players p on p.id = s.player_id
      where s.board_id = ${boardId} and s.period_key = ${instanceKey} and exists (select 1 from fin)
    ),
    frozen as (
      insert into tournament_standings (tournament_id, instance_key, rank, player_id, display_name,
                                        score, reached_at, metadata)
      select ${tournamentId}, ${instanceKey}, rank, player_id, display_name, score, reached_at,
             metadata
      from ranked
      returning 1
    ),
    brackets as (
      select ord, (b->>'fromRank')::int as from_rank, (b->>'toRank')::int as to_rank,
             (b->>'topPercent')::numeric as top_percent, b->'reward' as reward
      from jsonb_array_elements(${JSON.stringify(brackets)}::jsonb) with ordinality as x(b, ord)
    ),
    -- A player in several brackets gets the first one that names their rank.
    awarded as (
      insert into prizes (tournament_id, instance_key, player_id, rank, reward)
      select distinct on (r.player_id) ${tournamentId}, ${instanceKey}, r.player_id, r.rank, b.reward
      from ranked r
      join brackets b
        on r.rank >= coalesce(b.from_rank, 1)
       and r.rank <= coalesce(b.to_rank, ceil(r.total * b.top_percent / 100.0))
      order by r.player_id, b.ord
      on conflict do nothing
      returning 1
    )
    select (select count(*) from fin)::int as finalised,
           (select count(*) from frozen)::int as standings,
           (select count(*) from awarded)::int as prizes`);
  const row = result.rows[0];
  return {
    finalisedNow: (row?.finalised ?? 0) > 0,
    standings: row?.standings ?? 0,
    prizes: row?.prizes ?? 0,
  };
}

/** When an instance was finalised and how many players it froze, or null while it is open. */
export async function finalisationOf(
  db: Database,
  tournamentId: string,
  instanceKey: string,
): Promise<{ players: number; finalisedAt: string } | null> {
  const result = await db.execute<{ players: number; finalised_at: string }>(sql`
    select players, finalised_at from tournament_finalisations
    where tournament_id = ${tournamentId} and instance_key = ${instanceKey}`);
  const row = result.rows[0];
  return row
    ? { players: row.players, finalisedAt: new Date(row.finalised_at).toISOString() }
    : null;
}

/** Which of these instance keys are finalised already. */
export async function finalisedKeys(
  db: Database,
  keys: Array<{ tournamentId: string; instanceKey: string }>,
): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const result = await db.execute<{ tournament_id: string; instance_key: string }>(sql`
    select f.tournament_id, f.instance_key from tournament_finalisations f
    join jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as k("tournamentId" text, "instanceKey" text)
      on f.tournament_id = k."tournamentId" and f.instance_key = k."instanceKey"`);
  return new Set(result.rows.map((r) => `${r.tournament_id}/${r.instance_key}`));
}

export interface StandingRow {
  rank: number;
  playerId: string;
  displayName: string | null;
  score: number;
  reachedAt: string;
  metadata: Record<string, unknown> | null;
}

type RawStanding = {
  rank: number;
  player_id: string;
  display_name: string | null;
  score: string;
  reached_at: string;
  metadata: Record<string, unknown> | null;
};

const toStanding = (r: RawStanding): StandingRow => ({
  rank: r.rank,
  playerId: r.player_id,
  displayName: r.display_name,
  score: Number(r.score),
  reachedAt: new Date(r.reached_at).toISOString(),
  metadata: r.metadata,
});

/**
 * The frozen rows from n ranks above a player to n below (the player among them), best first;
 * empty when the player has no frozen standing. n = 0 is the player's own row.
 * tournament_standings_player_idx finds the player's rank, the primary key the window.
 */
export async function frozenAround(
  db: Database,
  tournamentId: string,
  instanceKey: string,
  playerId: string,
  n: number,
): Promise<StandingRow[]> {
  const result = await db.execute<RawStanding>(sql`
    with me as (
      select rank from tournament_standings
      where tournament_id = ${tournamentId} and instance_key = ${instanceKey}
        and player_id = ${playerId}
    )
    select s.rank, s.player_id, s.display_name, s.score, s.reached_at, s.metadata
    from tournament_standings s, me
    where s.tournament_id = ${tournamentId} and s.instance_key = ${instanceKey}
      and s.rank between me.rank - ${n} and me.rank + ${n}
    order by s.rank`);
  return result.rows.map(toStanding);
}

/** A page of frozen standings after `afterRank`, best first. */
export async function standingsPage(
  db: Database,
  tournamentId: string,
  instanceKey: string,
  afterRank: number,
  limit: number,
): Promise<StandingRow[]> {
  const result = await db.execute<RawStanding>(sql`
    select rank, player_id, display_name, score, reached_at, metadata from tournament_standings
    where tournament_id = ${tournamentId} and instance_key = ${instanceKey} and rank > ${afterRank}
    order by rank limit ${limit}`);
  return result.rows.map(toStanding);
}
