import { sql } from "drizzle-orm";
import { withTimeout } from "../../lib/timeout";
import type { Database } from "./client";

/** One sampled scores row, as the reconciliation compares it with Redis. */
export interface SampledScore {
  playerId: string;
  version: number;
  sortScore: number;
  /** Epoch ms. */
  reachedAt: number;
  /** Epoch ms (Postgres' clock): the writing batch's transaction time. */
  updatedAt: number;
}

const READ_TIMEOUT_MS = 10_000;

/**
 * Up to `limit` records of a board-period: the first player ids at or after `pivot`, then (wrapping
 * round) from the first id, so any pivot yields a full window and every record is reached over
 * runs. Two ranges of scores_pkey: at most 2 × limit index entries read.
 */
export async function sampleScores(
  db: Database,
  boardId: string,
  periodKey: string,
  pivot: string,
  limit: number,
): Promise<SampledScore[]> {
  if (limit <= 0) return [];
  const columns = sql`player_id, version::text, sort_score::text,
    (extract(epoch from reached_at) * 1000)::bigint::text as reached_at_ms,
    (extract(epoch from updated_at) * 1000)::bigint::text as updated_at_ms`;
  const where = sql`board_id = ${boardId} and period_key = ${periodKey}`;
  const result = await withTimeout(
    db.execute<{
      player_id: string;
      version: string;
      sort_score: string;
      reached_at_ms: string;
      updated_at_ms: string;
    }>(sql`
      select * from (
        (select 0 as part, ${columns} from scores where ${where} and player_id >= ${pivot}
          order by player_id limit ${limit})
        union all
        (select 1 as part, ${columns} from scores where ${where} and player_id < ${pivot}
          order by player_id limit ${limit})
      ) w order by part, player_id limit ${limit}`),
    READ_TIMEOUT_MS,
    "Postgres sample of a board-period",
  );
  return result.rows.map((r) => ({
    playerId: r.player_id,
    version: Number(r.version),
    sortScore: Number(r.sort_score),
    reachedAt: Number(r.reached_at_ms),
    updatedAt: Number(r.updated_at_ms),
  }));
}

/**
 * A board-period's record count, and how many of them were updated at or after `sinceMs`: a count
 * of its scores_pkey range (index only, cost in proportion to its size: callers bound it) and a
 * range of scores_updated_idx.
 */
export async function countScores(
  db: Database,
  boardId: string,
  periodKey: string,
  sinceMs: number,
): Promise<{ total: number; recent: number }> {
  const where = sql`board_id = ${boardId} and period_key = ${periodKey}`;
  const result = await withTimeout(
    db.execute<{ total: string; recent: string }>(sql`
      select (select count(*) from scores where ${where})::text as total,
        (select count(*) from scores where ${where} and updated_at >=
          timestamptz 'epoch' + ${sinceMs}::bigint * interval '1 millisecond')::text as recent`),
    READ_TIMEOUT_MS,
    "Postgres count of a board-period",
  );
  const row = result.rows[0];
  return { total: Number(row?.total), recent: Number(row?.recent) };
}
