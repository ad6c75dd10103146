import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, inArray, lte } from "drizzle-orm";
import {
  boardPeriodKey,
  DEFAULT_PAST_PERIOD_DAYS,
  type PeriodKind,
  pastPeriodExpiryMs,
  periodKeysFor,
} from "../domain";
import { describeError, log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { reloadBoardPeriod } from "../services/projection/rank-reload";
import type { Database } from "../stores/postgres/client";
import { boards, rankResync } from "../stores/postgres/schema";
import { rankKeys } from "../stores/redis/keys";
import { WATERMARK_TOLERANCE_MS } from "../stores/redis/lua";

/**
 * No reload starts after this much of a run has passed (wall time). Most reloads are small (a
 * new day's periods at rollover take milliseconds each), so one run does them all; a board of
 * millions takes a run of its own. A backlog (a new Upstash database) drains over runs, and runs
 * stay shorter than the minute between them.
 */
const RUN_BUDGET_MS = 30_000;
/** Boards whose current periods are checked per run (the oldest-created first). */
const MAX_BOARDS = 1_000;
/** Resync requests read per run. */
const MAX_RESYNC_ROWS = 100;

export interface ReconcileResult {
  /** Current board-periods checked for a ready marker. */
  checked: number;
  /**
   * Board-periods that needed a reload (no marker, or a resync request), whether or not this run
   * got to them.
   */
  due: number;
  reloadedCount: number;
  failedCount: number;
  /**
   * Resync requests dropped without a load: their period ended more than REDIS_PAST_PERIOD_DAYS
   * ago (Redis no longer serves it, Postgres does), or their board is gone.
   */
  droppedCount: number;
  /** The first LISTED of each, for the log line (a rollover may reload thousands of periods). */
  reloaded: Array<{
    boardId: string;
    periodKey: string;
    rows: number;
    moved: number;
    reason: ReloadReason;
  }>;
  failed: Array<{ boardId: string; periodKey: string; error: string }>;
}

const LISTED = 20;

/**
 * Why a board-period is reloaded: no ready marker, a failed projection, or keys trailing Postgres.
 */
type ReloadReason = "not_ready" | "resync" | "behind";

/** What a reload needs of a board: its periods, and their bounds (for the keys' expiry). */
const BOARD_COLUMNS = {
  id: boards.id,
  periods: boards.periods,
  timeZone: boards.timeZone,
  weekStart: boards.weekStart,
};

/**
 * Keeps Redis a complete copy of what it serves, bounded per run:
 *  - every current board-period (each board's current period keys, and "all") that has no ready
 *    marker is loaded whole from Postgres: a new day, week or month, or every board-period after
 *    Upstash was configured, flushed or lost keys. Until then its ranks come from Postgres.
 *  - every board-period a failed projection flagged in rank_resync is loaded again, whether or
 *    not it is ready: its records may be stale. The request is cleared only if it is older than
 *    the load, so a failure during the load asks again.
 *  - every current board-period whose marker trails its object's watermark (Redis restored from
 *    an older copy and the board quiet since) is loaded again.
 * Resync requests first; no load starts after `budgetMs` (at least one runs); the rest waits for
 * the next run. Every load gives the keys their expiry, `pastDays` after the period ends; a
 * request for a period already past it is dropped.
 */
export async function reconcileRanks(
  db: Database,
  redis: Redis,
  prefix: string,
  now: Date,
  options: {
    budgetMs?: number;
    pastDays?: number;
    /**
     * The board-period's object watermark (LeaderboardDO.watermark): markers trailing it are
     * reloaded.
     */
    watermarkOf?: (boardId: string, periodKey: string) => Promise<number>;
  } = {},
): Promise<ReconcileResult> {
  const started = Date.now();
  const budgetMs = options.budgetMs ?? RUN_BUDGET_MS;
  const pastDays = options.pastDays ?? DEFAULT_PAST_PERIOD_DAYS;
  const [boardRows, resync] = await Promise.all([
    db.select(BOARD_COLUMNS).from(boards).orderBy(boards.createdAt).limit(MAX_BOARDS),
    db.select().from(rankResync).orderBy(rankResync.requestedAt).limit(MAX_RESYNC_ROWS),
  ]);
  const boardsById = new Map(boardRows.map((b) => [b.id, b]));
  const unlisted = [...new Set(resync.map((r) => r.boardId).filter((id) => !boardsById.has(id)))];
  if (unlisted.length > 0) {
    for (const b of await db.select(BOARD_COLUMNS).from(boards).where(inArray(boards.id, unlisted)))
      boardsById.set(b.id, b);
  }
  const current = boardRows.flatMap((b) =>
    periodKeysFor(
      { periods: b.periods as PeriodKind[], timeZone: b.timeZone, weekStart: b.weekStart },
      now,
    ).map((p) => ({
      boardId: b.id,
      periodKey: p.key,
    })),
  );
  const markers = current.length === 0 ? [] : await readMarkers(redis, prefix, current);
  const behind = options.watermarkOf ? await trailing(current, markers, options.watermarkOf) : [];

  const due = new Map<string, { boardId: string; periodKey: string; reason: ReloadReason }>();
  for (const r of resync)
    due.set(boardPeriodKey(r.boardId, r.periodKey), {
      boardId: r.boardId,
      periodKey: r.periodKey,
      reason: "resync",
    });
  current.forEach((bp, i) => {
    const key = boardPeriodKey(bp.boardId, bp.periodKey);
    if (due.has(key)) return;
    if (markers[i] === null) due.set(key, { ...bp, reason: "not_ready" });
    else if (behind[i]) due.set(key, { ...bp, reason: "behind" });
  });

  const result: ReconcileResult = {
    checked: current.length,
    due: due.size,
    reloadedCount: 0,
    failedCount: 0,
    droppedCount: 0,
    reloaded: [],
    failed: [],
  };
  const clearRequest = (bp: { boardId: string; periodKey: string }, upTo: Date) =>
    db
      .delete(rankResync)
      .where(
        and(
          eq(rankResync.boardId, bp.boardId),
          eq(rankResync.periodKey, bp.periodKey),
          lte(rankResync.requestedAt, upTo),
        ),
      );
  for (const bp of due.values()) {
    if (result.reloadedCount + result.failedCount > 0 && Date.now() - started >= budgetMs) break;
    try {
      const board = boardsById.get(bp.boardId);
      const expiresAt = board ? pastPeriodExpiryMs(board, bp.periodKey, pastDays) : null;
      if (!board || (expiresAt !== null && expiresAt <= now.getTime())) {
        await clearRequest(bp, now);
        result.droppedCount += 1;
        continue;
      }
      const reload = await reloadBoardPeriod(
        db,
        redis,
        prefix,
        bp.boardId,
        bp.periodKey,
        expiresAt,
      );
      await clearRequest(bp, new Date(reload.startedAt));
      result.reloadedCount += 1;
      if (result.reloaded.length < LISTED)
        result.reloaded.push({ ...bp, rows: reload.rows, moved: reload.moved });
    } catch (error) {
      // One board-period failing (Redis down again, a timeout) must not stop the others.
      const described = describeError(error);
      log.warn("cron: Redis reload failed; it is retried next run", { ...bp, error: described });
      result.failedCount += 1;
      if (result.failed.length < LISTED)
        result.failed.push({ boardId: bp.boardId, periodKey: bp.periodKey, error: described });
    }
  }
  return result;
}

/**
 * Each board-period's ready marker (its watermark, epoch ms), or null without one, and its player
 * count; a marker whose ZSET and HASH disagree on the count (one of them evicted or lost) counts
 * as none. One pipeline of GET, ZCARD, HLEN.
 */
async function readMarkers(
  redis: Redis,
  prefix: string,
  boardPeriods: Array<{ boardId: string; periodKey: string }>,
): Promise<Array<{ at: number; players: number } | null>> {
  const pipeline = redis.pipeline();
  for (const bp of boardPeriods) {
    const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
    pipeline.get(keys.ready).zcard(keys.z).hlen(keys.m);
  }
  const replies = await withTimeout(pipeline.exec(), 5_000, "Redis ready check");
  return boardPeriods.map((_, i) => {
    const [marker, players, records] = replies.slice(i * 3, i * 3 + 3);
    if (marker === null || marker === undefined || Number(players) !== Number(records)) return null;
    return { at: Number(marker), players: Number(players) };
  });
}

/** Object calls in flight at once while comparing watermarks. */
const WATERMARK_CONCURRENCY = 50;

/**
 * Which ready board-periods trail their object's watermark by more than a projection in flight
 * could explain: a Redis restored from an older copy, on a board that has been quiet since (a
 * busy one is caught by its next projection), or keys that hold no player at all where the object
 * has applied batches (both data keys evicted or lost). An object that cannot answer counts as
 * not behind.
 */
async function trailing(
  boardPeriods: Array<{ boardId: string; periodKey: string }>,
  markers: Array<{ at: number; players: number } | null>,
  watermarkOf: (boardId: string, periodKey: string) => Promise<number>,
): Promise<boolean[]> {
  const result = boardPeriods.map(() => false);
  for (let i = 0; i < boardPeriods.length; i += WATERMARK_CONCURRENCY) {
    await Promise.all(
      boardPeriods.slice(i, i + WATERMARK_CONCURRENCY).map(async (bp, j) => {
        const marker = markers[i + j];
        if (marker === null || marker === undefined) return;
        const expected = await watermarkOf(bp.boardId, bp.periodKey).catch(() => 0);
        result[i + j] =
          expected > 0 && (marker.at + WATERMARK_TOLERANCE_MS < expected || marker.players === 0);
      }),
    );
  }
  return result;
}
