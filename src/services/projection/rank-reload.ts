import type { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import { withTimeout } from "../../lib/timeout";
import type { Database } from "../../stores/postgres/client";
import {
  type RedisRankRow,
  replaceBoardPeriod,
  startBoardPeriodLoad,
} from "../../stores/redis/ranks";

/** Rows per Postgres read: one keyset range of scores_rank_idx, about 150 KB of reply. */
const RELOAD_READ_CHUNK = 5_000;
/**
 * How far before the load started a row's updated_at may be and still be re-applied after the
 * swap. A batch's rows carry its transaction's start time, so a batch that began before the load
 * but committed after the keyset passed its rows is caught as long as it took less than this.
 */
const MOVED_MARGIN_MS = 60_000;
const READ_TIMEOUT_MS = 20_000;

type ScoreRow = {
  player_id: string;
  sort_score: string | number;
  reached_at_ms: string | number;
  version: string | number;
};

/** What the rank store needs of a scores row (reached_at as exact epoch ms), as ScoreRow. */
const SCORE_COLUMNS = sql`player_id, sort_score,
  (extract(epoch from reached_at) * 1000)::bigint as reached_at_ms, version`;

const toRow = (r: ScoreRow): RedisRankRow => ({
  playerId: r.player_id,
  sortScore: Number(r.sort_score),
  reachedAt: Number(r.reached_at_ms),
  version: Number(r.version),
});

export interface ReloadResult {
  /** Rows read from Postgres and loaded. */
  rows: number;
  /** Rows that moved while the load ran, applied again after the swap (version-guarded). */
  moved: number;
  /** Board-period size in Redis after the swap. */
  total: number;
  /** When the load started (epoch ms): resync requests older than this are satisfied. */
  startedAt: number;
}

/**
 * Loads one board-period whole from Postgres into Redis and marks it ready: `scores` is read in
 * rank order by keyset chunks (a board of millions is never held in memory), written to private
 * build keys, swapped over the live keys in one step, then every row updated since shortly before
 * the load started is applied again. That last step repairs what the swap overwrote (projections
 * of batches that committed meanwhile); it is version-guarded, so re-applying is harmless.
 */
export async function reloadBoardPeriod(
  db: Database,
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  /** When the board-period's keys expire (epoch ms, pastPeriodExpiryMs); null: never. */
  expiresAt: number | null,
): Promise<ReloadResult> {
  const startedAt = await postgresNow(db);
  const load = startBoardPeriodLoad(redis, prefix, boardId, periodKey, { expiresAt });
  let rows = 0;
  try {
    let after: ScoreRow | undefined;
    for (;;) {
      // Keyset on the index order (sort_score, reached_at, player_id), the cursor's reached_at
      // rebuilt exactly from epoch ms, so the range stays one index scan.
      const chunk = await bounded(
        db.execute<ScoreRow>(sql`
          select ${SCORE_COLUMNS}
          from scores
          where board_id = ${boardId} and period_key = ${periodKey}
            ${
              after
                ? sql`and (sort_score, reached_at, player_id) > (${after.sort_score}::bigint,
                    timestamptz 'epoch' + ${after.reached_at_ms}::bigint * interval '1 millisecond',
                    ${after.player_id})`
                : sql``
            }
          order by sort_score, reached_at, player_id
          limit ${RELOAD_READ_CHUNK}`),
      );
      if (chunk.rows.length === 0) break;
      await load.add(chunk.rows.map(toRow));
      rows += chunk.rows.length;
      after = chunk.rows.at(-1);
      if (chunk.rows.length < RELOAD_READ_CHUNK) break;
    }
    // Every write committed before the snapshot is in it: its time is the keys' watermark.
    const total = await load.commit(startedAt);
    const movedAt = await postgresNow(db);
    const moved = await bounded(
      db.execute<ScoreRow>(sql`
        select ${SCORE_COLUMNS}
        from scores
        where board_id = ${boardId} and period_key = ${periodKey}
          and updated_at >= timestamptz 'epoch'
            + ${startedAt - MOVED_MARGIN_MS}::bigint * interval '1 millisecond'`),
    );
    // With them, the keys hold every write committed before the moved rows were read.
    if (moved.rows.length > 0)
      await replaceBoardPeriod(redis, prefix, boardId, periodKey, moved.rows.map(toRow), {
        reset: false,
        expiresAt,
        watermark: movedAt,
      });
    return { rows, moved: moved.rows.length, total, startedAt };
  } catch (error) {
    await load.abandon();
    throw error;
  }
}

/** Postgres' clock (epoch ms): watermarks compare times of one clock only. */
async function postgresNow(db: Database): Promise<number> {
  const result = await bounded(
    db.execute<{ ms: string }>(sql`select (extract(epoch from now()) * 1000)::bigint::text as ms`),
  );
  return Number(result.rows[0]?.ms);
}

function bounded<T>(promise: Promise<T>): Promise<T> {
  return withTimeout(promise, READ_TIMEOUT_MS, "Postgres read for a Redis reload");
}
