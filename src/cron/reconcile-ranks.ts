import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import {
  boardPeriodKey,
  DEFAULT_PAST_PERIOD_DAYS,
  type PeriodKind,
  pastPeriodExpiryMs,
  periodKeysFor,
  type WeekStart,
} from "../domain";
import { describeError, log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { reloadStep, resyncRecords } from "../services/projection/rank-reload";
import {
  type VerifyOptions,
  type VerifyResult,
  verifyRanks,
} from "../services/projection/rank-verify";
import { runningInstancePeriods } from "../services/tournaments/running";
import type { ObjectBoard } from "../stores/objects/leaderboard";
import type { Database } from "../stores/postgres/client";
import { type Board, boards, rankResync } from "../stores/postgres/schema";
import { rankKeys } from "../stores/redis/keys";
import { WATERMARK_TOLERANCE_MS } from "../stores/redis/lua";
import { prepareEmpty } from "../stores/redis/ranks";

/**
 * No reload or repair starts after this much of a run has passed (wall time). Most are small (a
 * few records to re-apply, an empty period to prepare), so one run does them all; a board of
 * millions is reloaded over several runs (RELOAD_ROWS, RELOAD_MS each). A backlog (a new Upstash
 * database) drains over runs, and runs stay shorter than the minute between them.
 */
const RUN_BUDGET_MS = 30_000;
/** Rows one run loads of one board-period's reload (Upstash: 1 script per 1,000, 5 a request). */
const RELOAD_ROWS = 200_000;
/** Wall time one run spends on one board-period's reload. */
const RELOAD_MS = 20_000;
/** How long before a period starts its keys are marked ready and its object initialised. */
const PREPARE_AHEAD_MS = 10 * 60_000;
/** Boards whose current periods are checked per run (the oldest-created first). */
const MAX_BOARDS = 1_000;
/** Running tournaments whose current instance is checked per run, on top of the boards. */
const MAX_TOURNAMENTS = 500;
/** Resync requests read per run. */
const MAX_RESYNC_ROWS = 100;

export interface ReconcileResult extends VerifyResult {
  /** Current board-periods checked for a ready marker. */
  checked: number;
  /**
   * Board-periods that needed work (no marker, keys behind, a resync request), whether or not
   * this run got to them.
   */
  due: number;
  /** Reloads swapped in by this run. */
  reloadedCount: number;
  /** Reloads this run advanced but did not finish (they continue next run). */
  continuedCount: number;
  /** Reloads another run (or isolate) holds the lease of: left alone. */
  busyCount: number;
  /** Resync requests repaired by re-applying their records (no reload). */
  resyncedCount: number;
  /** Next periods marked ready and empty, their objects initialised. */
  preparedCount: number;
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
  sortOrder: boards.sortOrder,
  topSize: boards.topSize,
};

type BoardRow = { id: string; periods: unknown; timeZone: string; weekStart: WeekStart };

const periodsOf = (b: BoardRow, at: Date) =>
  periodKeysFor(
    { periods: b.periods as PeriodKind[], timeZone: b.timeZone, weekStart: b.weekStart },
    at,
  );

interface Due {
  boardId: string;
  periodKey: string;
  reason: ReloadReason;
  /** The ready marker this run saw (epoch ms); null: none. */
  marker: number | null;
  /** Re-apply the records updated since (epoch ms) instead of reloading; null: reload. */
  since: number | null;
}

/**
 * Keeps Redis a complete copy of what it serves, bounded per run:
 *  - every board-period a failed projection flagged in rank_resync with a time is repaired by
 *    re-applying the records updated since then (or since its marker, if older), when its keys
 *    are ready; one flagged without a time (keys found behind), or whose keys are not ready, is
 *    reloaded. The request is cleared only if it is older than the repair, so a failure during
 *    it asks again.
 *  - every current board-period (each board's current period keys, and "all") that has no ready
 *    marker is loaded whole from Postgres: every board-period after Upstash was configured,
 *    flushed or lost keys. Until then its ranks come from Postgres.
 *  - every current board-period whose marker trails its object's watermark (Redis restored from
 *    an older copy and the board quiet since) is loaded again.
 *  - every board's next periods starting within PREPARE_AHEAD_MS are prepared: their object
 *    initialised and their keys marked ready and empty, so a new day starts on Redis.
 *  - a few ready board-periods nothing above touched are compared with Postgres (count, a sample
 *    of records) and reloaded next run if they disagree: partial loss behind a present marker
 *    (services/projection/rank-verify.ts states the bounds).
 * A reload runs under a lease (one run at a time per board-period, whatever overlaps) and in
 * steps of `reloadRows`/`reloadMs`, continued by the next runs. Resync requests first; nothing
 * starts after `budgetMs` (at least one runs); the rest waits for the next run. Every load gives
 * the keys their expiry, `pastDays` after the period ends; a request for a period already past
 * it is dropped.
 */
export async function reconcileRanks(
  db: Database,
  redis: Redis,
  prefix: string,
  now: Date,
  options: {
    budgetMs?: number;
    pastDays?: number;
    /** Rows and wall time one run spends on one board-period's reload. */
    reloadRows?: number;
    reloadMs?: number;
    prepareAheadMs?: number;
    /**
     * The board-period's object watermark (LeaderboardDO.watermark): markers trailing it are
     * reloaded.
     */
    watermarkOf?: (boardId: string, periodKey: string) => Promise<number>;
    /** Initialises a next period's object (LeaderboardDO.rebuild); absent: Redis only. */
    prepareObject?: (board: ObjectBoard, periodKey: string) => Promise<void>;
    /** The bounds of the comparison of ready keys with Postgres (rank-verify.ts). */
    verify?: VerifyOptions;
  } = {},
): Promise<ReconcileResult> {
  const started = Date.now();
  const budgetMs = options.budgetMs ?? RUN_BUDGET_MS;
  const pastDays = options.pastDays ?? DEFAULT_PAST_PERIOD_DAYS;
  const budget = { rows: options.reloadRows ?? RELOAD_ROWS, ms: options.reloadMs ?? RELOAD_MS };
  const holder = crypto.randomUUID();
  const [boardRows, resync, instances] = await Promise.all([
    db.select(BOARD_COLUMNS).from(boards).orderBy(boards.createdAt).limit(MAX_BOARDS),
    db.select().from(rankResync).orderBy(rankResync.requestedAt).limit(MAX_RESYNC_ROWS),
    runningInstancePeriods(db, now, MAX_TOURNAMENTS),
  ]);
  const boardsById = new Map(boardRows.map((b) => [b.id, b]));
  const named = [...resync, ...instances].map((r) => r.boardId);
  const unlisted = [...new Set(named.filter((id) => !boardsById.has(id)))];
  if (unlisted.length > 0) {
    for (const b of await db.select(BOARD_COLUMNS).from(boards).where(inArray(boards.id, unlisted)))
      boardsById.set(b.id, b);
  }
  // A tournament instance is a current board-period of its hidden board, like a board's period.
  const current = [
    ...boardRows.flatMap((b) =>
      periodsOf(b, now).map((p) => ({ boardId: b.id, periodKey: p.key })),
    ),
    ...instances,
  ];
  const checked = [
    ...current,
    ...resync.map((r) => ({ boardId: r.boardId, periodKey: r.periodKey })),
  ];
  const markers = checked.length === 0 ? [] : await readMarkers(redis, prefix, checked);
  const behind = options.watermarkOf
    ? await trailing(current, markers.slice(0, current.length), options.watermarkOf)
    : [];

  const due = new Map<string, Due>();
  resync.forEach((r, i) => {
    const marker = markers[current.length + i];
    // Ready keys hold every write up to their marker: records moved since the earlier of the
    // marker and the failure are all they can miss.
    const since = r.since === null || !marker ? null : Math.min(r.since.getTime(), marker.at);
    due.set(boardPeriodKey(r.boardId, r.periodKey), {
      boardId: r.boardId,
      periodKey: r.periodKey,
      reason: "resync",
      marker: marker?.at ?? null,
      since,
    });
  });
  current.forEach((bp, i) => {
    const key = boardPeriodKey(bp.boardId, bp.periodKey);
    if (due.has(key)) return;
    const marker = markers[i];
    if (!marker) due.set(key, { ...bp, reason: "not_ready", marker: null, since: null });
    else if (behind[i]) due.set(key, { ...bp, reason: "behind", marker: marker.at, since: null });
  });

  const result: ReconcileResult = {
    checked: current.length,
    due: due.size,
    reloadedCount: 0,
    continuedCount: 0,
    busyCount: 0,
    resyncedCount: 0,
    preparedCount: 0,
    failedCount: 0,
    droppedCount: 0,
    reloaded: [],
    failed: [],
    verifiedCount: 0,
    mismatchCount: 0,
    checkFailedCount: 0,
    compared: 0,
    inFlight: 0,
    mismatches: [],
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
  let attempted = 0;
  const outOfTime = () => attempted > 0 && Date.now() - started >= budgetMs;
  for (const bp of due.values()) {
    if (outOfTime()) break;
    attempted += 1;
    try {
      const board = boardsById.get(bp.boardId);
      const expiresAt = board ? pastPeriodExpiryMs(board, bp.periodKey, pastDays) : null;
      if (!board || (expiresAt !== null && expiresAt <= now.getTime())) {
        await clearRequest(bp, now);
        result.droppedCount += 1;
        continue;
      }
      if (bp.since !== null) {
        const repaired = await resyncRecords(
          db,
          redis,
          prefix,
          bp.boardId,
          bp.periodKey,
          expiresAt,
          bp.since,
          budget.rows,
        );
        if (repaired) {
          await clearRequest(bp, new Date(repaired.startedAt));
          result.resyncedCount += 1;
          continue;
        }
        // Too many records moved: a reload is cheaper.
      }
      const step = await reloadStep(
        db,
        redis,
        prefix,
        bp.boardId,
        bp.periodKey,
        expiresAt,
        budget,
        holder,
        () => stillDue(db, redis, prefix, bp),
      );
      if (step.status === "busy") result.busyCount += 1;
      else if (step.status === "progress") result.continuedCount += 1;
      else {
        await clearRequest(bp, new Date(step.startedAt));
        result.reloadedCount += 1;
        if (result.reloaded.length < LISTED)
          result.reloaded.push({
            boardId: bp.boardId,
            periodKey: bp.periodKey,
            reason: bp.reason,
            rows: step.loaded - step.moved,
            moved: step.moved,
          });
      }
    } catch (error) {
      // One board-period failing (Redis down again, a timeout) must not stop the others.
      const described = describeError(error);
      log.warn("cron: Redis reload failed; it is retried next run", { ...bp, error: described });
      result.failedCount += 1;
      if (result.failed.length < LISTED)
        result.failed.push({ boardId: bp.boardId, periodKey: bp.periodKey, error: described });
    }
  }
  if (!outOfTime())
    result.preparedCount = await prepareNextPeriods(
      db,
      redis,
      prefix,
      now,
      boardRows,
      pastDays,
      options.prepareAheadMs ?? PREPARE_AHEAD_MS,
      options.prepareObject,
    );
  // Last, with what is left of the budget: ready keys that nothing above touched are compared
  // with Postgres, a few per run, for partial loss behind their marker.
  if (!outOfTime()) {
    const ready = current.flatMap((bp, i) => {
      const marker = markers[i];
      return marker && !due.has(boardPeriodKey(bp.boardId, bp.periodKey))
        ? [{ ...bp, at: marker.at, players: marker.players }]
        : [];
    });
    Object.assign(
      result,
      await verifyRanks(db, redis, prefix, ready, now, started + budgetMs, options.verify),
    );
  }
  return result;
}

/**
 * Whether a reload this run found due still is, now that it holds the lease: an overlapping run
 * may have finished one meanwhile. Not ready: still no (whole) marker. Behind: the marker has not
 * moved.
 * Resync: the request is still there (a reload that covered it cleared it).
 */
async function stillDue(db: Database, redis: Redis, prefix: string, bp: Due): Promise<boolean> {
  if (bp.reason === "resync") {
    const rows = await db
      .select({ at: rankResync.requestedAt })
      .from(rankResync)
      .where(and(eq(rankResync.boardId, bp.boardId), eq(rankResync.periodKey, bp.periodKey)));
    return rows.length > 0;
  }
  // Read as the run read it: a marker whose ZSET and HASH disagree counts as none.
  const [marker] = await readMarkers(redis, prefix, [bp]);
  return !marker || (bp.marker !== null && marker.at <= bp.marker);
}

/**
 * Prepares every board's periods that start within `aheadMs`: Postgres holds no record of them
 * yet, so their object is initialised (an empty, complete top-N: the first reads need no rebuild)
 * and their keys marked ready and empty (reads use Redis from the first event; projections fill
 * them like any ready keys). A period that already has a marker, a member or a record is left to
 * the usual load. Returns how many were prepared.
 */
async function prepareNextPeriods(
  db: Database,
  redis: Redis,
  prefix: string,
  now: Date,
  boardRows: ReadonlyArray<BoardRow & Pick<Board, "sortOrder" | "topSize">>,
  pastDays: number,
  aheadMs: number,
  prepareObject: ((board: ObjectBoard, periodKey: string) => Promise<void>) | undefined,
): Promise<number> {
  const ahead = new Date(now.getTime() + aheadMs);
  const next = boardRows.flatMap((b) => {
    const currentKeys = new Set(periodsOf(b, now).map((p) => p.key));
    return periodsOf(b, ahead)
      .filter((p) => !currentKeys.has(p.key))
      .map((p) => ({ board: b, boardId: b.id, periodKey: p.key }));
  });
  if (next.length === 0) return 0;
  const markers = await readMarkers(redis, prefix, next);
  const unmarked = next.filter((_, i) => markers[i] === null);
  if (unmarked.length === 0) return 0;
  // The Postgres time they were seen empty at: the markers' watermark.
  const seenAt = Number(
    (
      await db.execute<{ ms: string }>(
        sql`select (extract(epoch from now()) * 1000)::bigint::text as ms`,
      )
    ).rows[0]?.ms,
  );
  const pairs = sql.join(
    unmarked.map((bp) => sql`(${bp.boardId}, ${bp.periodKey})`),
    sql`, `,
  );
  const held = await db.execute<{ board_id: string; period_key: string }>(sql`
    select distinct board_id, period_key from scores
    where (board_id, period_key) in (${pairs})`);
  const nonEmpty = new Set(held.rows.map((r) => boardPeriodKey(r.board_id, r.period_key)));
  let prepared = 0;
  for (const bp of unmarked) {
    if (nonEmpty.has(boardPeriodKey(bp.boardId, bp.periodKey))) continue;
    try {
      await prepareObject?.(bp.board, bp.periodKey);
      const expiresAt = pastPeriodExpiryMs(bp.board, bp.periodKey, pastDays);
      if (await prepareEmpty(redis, prefix, bp.boardId, bp.periodKey, seenAt, expiresAt))
        prepared += 1;
    } catch (error) {
      log.warn("cron: preparing a next period failed; it is retried next run", {
        boardId: bp.boardId,
        periodKey: bp.periodKey,
        error: describeError(error),
      });
    }
  }
  return prepared;
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
