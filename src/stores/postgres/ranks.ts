import { type SQL, sql } from "drizzle-orm";
import { boardPeriodKey, percentile } from "../../domain";
import type { CountedTotal } from "../../domain/leaderboard";
import type { Database } from "./client";
import { bandsBefore, COUNTED_AT, inBandUpTo, recordsOf } from "./score-bands";

export interface PlayerRank {
  playerId: string;
  score: number;
  rank: number;
  total: number;
  percentile: number;
  reachedAt: string;
}

/** A position in board order, as SQL: parameters, or columns of the outer query's row. */
interface SqlPosition {
  sortScore: SQL;
  reachedAt: SQL;
  playerId: SQL;
}

/**
 * The number of records of a board-period ordered before a position (or at it, with `inclusive`),
 * without counting from rank 1: the band counts of score_buckets before the position's band
 * (a few thousand rows at most), plus one range of scores_rank_idx inside its band, which the
 * (sort_score, reached_at, player_id) row comparison bounds. Exact: the triggers that keep the
 * counts write in the same transaction as the scores (migrations/0006_score_buckets.sql).
 */
function rowsBefore(boardId: SQL, periodKey: SQL, at: SqlPosition, inclusive = false): SQL {
  return sql`(${bandsBefore(boardId, periodKey, at.sortScore)}
    + (select count(*) from scores x
       where x.board_id = ${boardId} and x.period_key = ${periodKey} and ${inBandUpTo(at.sortScore)}
         and (x.sort_score, x.reached_at, x.player_id) ${inclusive ? sql`<=` : sql`<`}
             (${at.sortScore}, ${at.reachedAt}, ${at.playerId})))`;
}

/** `rowsBefore` for the outer query's row `s`. */
const beforeRowS = rowsBefore(sql`s.board_id`, sql`s.period_key`, {
  sortScore: sql`s.sort_score`,
  reachedAt: sql`s.reached_at`,
  playerId: sql`s.player_id`,
});

/**
 * A player's rank from Postgres, the fallback when neither the board's Durable Object (top-N) nor
 * Redis can answer: 1 + the rows ordered before the player (rowsBefore). Null when the player has
 * no record in this period.
 */
export async function playerRankFromPostgres(
  db: Database,
  boardId: string,
  periodKey: string,
  playerId: string,
  /**
   * The board-period's size when the caller knows it (from its Durable Object): saves a full count.
   */
  knownTotal?: number,
): Promise<PlayerRank | null> {
  const totalSql =
    knownTotal === undefined
      ? recordsOf(sql`s.board_id`, sql`s.period_key`)
      : sql`${knownTotal}::bigint`;
  const result = await db.execute<{
    score: string;
    reached_at: string;
    rank: string;
    total: string;
  }>(sql`
    select s.score, s.reached_at, 1 + ${beforeRowS} as rank, ${totalSql} as total
    from scores s
    where s.board_id = ${boardId} and s.period_key = ${periodKey} and s.player_id = ${playerId}`);
  const row = result.rows[0];
  if (!row) return null;
  const rank = Number(row.rank);
  const total = Math.max(Number(row.total), rank);
  return {
    playerId,
    score: Number(row.score),
    rank,
    total,
    percentile: percentile(rank, total),
    reachedAt: new Date(row.reached_at).toISOString(),
  };
}

export interface RankedRow {
  rank: number;
  playerId: string;
  score: number;
  reachedAt: string;
  displayName: string | null;
  metadata: Record<string, unknown> | null;
  sortScore: number;
}

type Row = {
  player_id: string;
  score: string;
  sort_score: string;
  reached_at: string;
  display_name: string | null;
  metadata: Record<string, unknown> | null;
};

function toRanked(rows: Row[], firstRank: number): RankedRow[] {
  return rows.map((r, i) => ({
    rank: firstRank + i,
    playerId: r.player_id,
    score: Number(r.score),
    sortScore: Number(r.sort_score),
    reachedAt: new Date(r.reached_at).toISOString(),
    displayName: r.display_name,
    metadata: r.metadata,
  }));
}

/**
 * Rows ordered before a position (or at it, with `inclusive`). The position need not be a row any
 * more (a cursor's player may have moved since).
 */
async function countBefore(
  db: Database,
  boardId: string,
  periodKey: string,
  at: { sortScore: number; reachedAt: string; playerId: string },
  inclusive = false,
) {
  const position = {
    sortScore: sql`${at.sortScore}::bigint`,
    reachedAt: sql`${at.reachedAt}::timestamptz`,
    playerId: sql`${at.playerId}`,
  };
  const result = await db.execute<{ n: string }>(
    sql`select ${rowsBefore(sql`${boardId}`, sql`${periodKey}`, position, inclusive)} as n`,
  );
  return Number(result.rows[0]?.n ?? 0);
}

/** Total records of a board-period (its band counts: no scan of its records). */
export async function countFromPostgres(
  db: Database,
  boardId: string,
  periodKey: string,
): Promise<number> {
  const result = await db.execute<{ n: string }>(
    sql`select ${recordsOf(sql`${boardId}`, sql`${periodKey}`)} as n`,
  );
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * A page after a keyset cursor (or from the top), in board order, with display names. The rank of
 * the first row is one count over the index range before it.
 */
export async function pageFromPostgres(
  db: Database,
  boardId: string,
  periodKey: string,
  options: {
    limit: number;
    after?: { sortScore: number; reachedAt: string; playerId: string } | undefined;
  },
): Promise<RankedRow[]> {
  const after = options.after;
  const afterCursor = after
    ? sql`and (s.sort_score, s.reached_at, s.player_id)
        > (${after.sortScore}, ${after.reachedAt}::timestamptz, ${after.playerId})`
    : sql``;
  const rows = await db.execute<Row>(sql`
    select s.player_id, s.score, s.sort_score, s.reached_at, p.display_name, s.metadata
    from scores s left join players p on p.id = s.player_id
    where s.board_id = ${boardId} and s.period_key = ${periodKey}
      ${afterCursor}
    order by s.sort_score, s.reached_at, s.player_id
    limit ${options.limit}`);
  const firstRank = after ? (await countBefore(db, boardId, periodKey, after, true)) + 1 : 1;
  return toRanked(rows.rows, firstRank);
}

/**
 * n records above and n below a player (fewer at the edges), the player among them; null if absent.
 */
export async function aroundFromPostgres(
  db: Database,
  boardId: string,
  periodKey: string,
  playerId: string,
  n: number,
): Promise<RankedRow[] | null> {
  const me = await db.execute<Row>(sql`
    select s.player_id, s.score, s.sort_score, s.reached_at, p.display_name, s.metadata
    from scores s left join players p on p.id = s.player_id
    where s.board_id = ${boardId} and s.period_key = ${periodKey} and s.player_id = ${playerId}`);
  const self = me.rows[0];
  if (!self) return null;
  const at = {
    sortScore: Number(self.sort_score),
    reachedAt: new Date(self.reached_at).toISOString(),
    playerId,
  };
  const [above, below, before] = await Promise.all([
    db.execute<Row>(sql`
      select * from (
        select s.player_id, s.score, s.sort_score, s.reached_at, p.display_name, s.metadata
        from scores s left join players p on p.id = s.player_id
        where s.board_id = ${boardId} and s.period_key = ${periodKey}
          and (s.sort_score, s.reached_at, s.player_id)
            < (${at.sortScore}, ${at.reachedAt}::timestamptz, ${playerId})
        order by s.sort_score desc, s.reached_at desc, s.player_id desc
        limit ${n}) x
      order by sort_score, reached_at, player_id`),
    db.execute<Row>(sql`
      select s.player_id, s.score, s.sort_score, s.reached_at, p.display_name, s.metadata
      from scores s left join players p on p.id = s.player_id
      where s.board_id = ${boardId} and s.period_key = ${periodKey}
        and (s.sort_score, s.reached_at, s.player_id)
          > (${at.sortScore}, ${at.reachedAt}::timestamptz, ${playerId})
      order by s.sort_score, s.reached_at, s.player_id
      limit ${n}`),
    countBefore(db, boardId, periodKey, at),
  ]);
  const myRank = before + 1;
  return toRanked([...above.rows, self, ...below.rows], myRank - above.rows.length);
}

/** The rank a score would get now (after existing equal scores: it would reach them later). */
export async function rankForScoreFromPostgres(
  db: Database,
  boardId: string,
  periodKey: string,
  sortScore: number,
): Promise<number> {
  // Every record with sort_score <= the score: the bands before its band, then the range inside it.
  const score = sql`${sortScore}::bigint`;
  const result = await db.execute<{ n: string }>(sql`
    select ${bandsBefore(sql`${boardId}`, sql`${periodKey}`, score)}
         + (select count(*) from scores x
            where x.board_id = ${boardId} and x.period_key = ${periodKey} and ${inBandUpTo(score)})
           as n`);
  return Number(result.rows[0]?.n ?? 0) + 1;
}

/** The records of the given players on one board-period, ranked (friends boards). */
export async function playersFromPostgres(
  db: Database,
  boardId: string,
  periodKey: string,
  playerIds: string[],
): Promise<RankedRow[]> {
  if (playerIds.length === 0) return [];
  const ids = `{${playerIds.map((id) => `"${id}"`).join(",")}}`;
  const rows = await db.execute<Row & { rank: string }>(sql`
    select s.player_id, s.score, s.sort_score, s.reached_at, p.display_name, s.metadata,
           1 + ${beforeRowS} as rank
    from scores s left join players p on p.id = s.player_id
    where s.board_id = ${boardId} and s.period_key = ${periodKey}
      and s.player_id = any(${ids}::text[])
    order by s.sort_score, s.reached_at, s.player_id`);
  return rows.rows.map((r) => ({ ...toRanked([r], Number(r.rank))[0] })) as RankedRow[];
}

/** Key of a board-period in the maps below. */

/**
 * The exact record count of each board-period, from its band counts, in ONE query, with the
 * statement's time (CountedTotal.at). A board-period without records is absent.
 */
export async function countsOf(
  db: Database,
  boardPeriods: ReadonlyArray<{ boardId: string; periodKey: string }>,
): Promise<Map<string, CountedTotal>> {
  const counts = new Map<string, CountedTotal>();
  if (boardPeriods.length === 0) return counts;
  const wanted = JSON.stringify(
    boardPeriods.map((bp) => ({ board_id: bp.boardId, period_key: bp.periodKey })),
  );
  const result = await db.execute<{
    board_id: string;
    period_key: string;
    n: string;
    at: string;
  }>(sql`
    select b.board_id, b.period_key, sum(b.records)::text as n, ${COUNTED_AT}::text as at
    from score_buckets b
    join (select distinct * from jsonb_to_recordset(${wanted}::jsonb)
          as w(board_id text, period_key text)) w
      on w.board_id = b.board_id and w.period_key = b.period_key
    group by b.board_id, b.period_key`);
  for (const row of result.rows)
    counts.set(boardPeriodKey(row.board_id, row.period_key), {
      count: Number(row.n),
      at: Number(row.at),
    });
  return counts;
}
