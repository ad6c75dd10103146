/**
 * Reads a board-period's top-N and player count from Postgres, the system of record, for a
 * rebuild. One statement (one HTTP round trip): the first topSize rows of scores_rank_idx in board
 * order, each carrying the period's count.
 */
import { sql } from "drizzle-orm";
import type { BoardPeriod, EntryState, Metadata } from "../../domain/leaderboard";
import { withTimeout } from "../../lib/timeout";
import type { DatabaseEnv } from "./client";
import { queryDatabase } from "./client";
import { COUNTED_AT, recordsOf } from "./score-bands";

/** A rebuild runs in an alarm or an admin call, never on a read path, so it may take a while. */
const REBUILD_TIMEOUT_MS = 20_000;

type TopRow = {
  player_id: string;
  score: string | number;
  reached_at_ms: string | number;
  version: string | number;
  metadata: Metadata | string | null;
  display_name: string | null;
  total: string | number;
  counted_at: string | number;
};

function toMetadata(value: TopRow["metadata"]): Metadata | null {
  if (value === null) return null;
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Metadata)
    : null;
}

/**
 * The first `board.topSize` records in board order, how many records the period has, and when
 * that count was taken (statement time, epoch µs; 0 when there are no records).
 */
export async function loadTopFromPostgres(
  env: DatabaseEnv,
  board: BoardPeriod,
): Promise<{ states: EntryState[]; total: number; totalAt: number }> {
  // reached_at as integer epoch ms in SQL: exact (precision 3) and independent of how the
  // driver parses timestamps.
  const result = await withTimeout(
    queryDatabase(env).execute<TopRow>(sql`
        select s.player_id, s.score,
               (extract(epoch from s.reached_at) * 1000)::bigint as reached_at_ms,
               s.version, s.metadata, p.display_name,
               -- The band counts (score_buckets), exact like count(*) but without reading
               -- every record.
               ${recordsOf(sql`${board.boardId}`, sql`${board.periodKey}`)} as total,
               ${COUNTED_AT} as counted_at
        from scores s
        left join players p on p.id = s.player_id
        where s.board_id = ${board.boardId} and s.period_key = ${board.periodKey}
        order by s.sort_score, s.reached_at, s.player_id
        limit ${board.topSize}`),
    REBUILD_TIMEOUT_MS,
    "Postgres top-N rebuild",
  );
  const rows = result.rows;
  const states = rows.map((row) => ({
    playerId: row.player_id,
    score: Number(row.score),
    reachedAt: Number(row.reached_at_ms),
    version: Number(row.version),
    displayName: row.display_name,
    metadata: toMetadata(row.metadata),
  }));
  // No rows means no records: the count is 0 without a second query.
  const first = rows[0];
  return {
    states,
    total: first === undefined ? 0 : Number(first.total),
    totalAt: first === undefined ? 0 : Number(first.counted_at),
  };
}
