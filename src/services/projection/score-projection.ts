import type { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import {
  boardPeriodKey,
  parsePastPeriodDays,
  pastPeriodExpiryMs,
  projectionProblem,
} from "../../domain";
import type { CountedTotal, Metadata } from "../../domain/leaderboard";
import type { ScoreChange } from "../../domain/records";
import type { AppBindings } from "../../env";
import { CircuitOpenError } from "../../lib/circuit-breaker";
import { describeError, log } from "../../lib/log";
import { count } from "../../lib/metrics";
import { purgePages } from "../../stores/cache/pages";
import { leaderboardStub, objectConfig } from "../../stores/objects/leaderboard";
import { openDatabase } from "../../stores/postgres/client";
import { type Board, rankResync } from "../../stores/postgres/schema";
import { openRedis, redisBreakerFor } from "../../stores/redis/client";
import { applyToRedis, redisChangeOf } from "../../stores/redis/ranks";
import { noteRedisProjection, noteWatermark } from "../../stores/redis/watermarks";

/**
 * Records the board-periods a failed Redis write missed, for the reconciliation cron (one row
 * each, the latest failure's time). `records`: the write failed now, so re-applying the records
 * updated since shortly before now repairs it (the earliest such time is kept); otherwise (keys
 * found behind) the whole board-period is reloaded, which wins over any record repair. If
 * Postgres fails too, the records stay stale in Redis until they change again; that is logged as
 * an error.
 */
export async function requestResync(
  env: AppBindings,
  boardPeriods: Array<{ boardId: string; periodKey: string }>,
  repair: "records" | "reload",
): Promise<void> {
  if (boardPeriods.length === 0) return;
  const handle = openDatabase(env, { maxConnections: 1 });
  const since = repair === "records" ? sql`now()` : sql`null`;
  try {
    await handle.db
      .insert(rankResync)
      .values(boardPeriods.map((bp) => ({ ...bp, since })))
      .onConflictDoUpdate({
        target: [rankResync.boardId, rankResync.periodKey],
        set: {
          requestedAt: sql`now()`,
          since: sql`case when ${rankResync.since} is null or excluded.since is null then null
            else least(${rankResync.since}, excluded.since) end`,
        },
      });
  } catch (error) {
    log.error(
      "projection: could not record a Redis resync request; " +
        "those ranks stay stale until they change",
      {
        error: describeError(error),
        boardPeriods,
      },
    );
  } finally {
    await handle.close();
  }
}

/** A board-period whose object did not take this batch's changes, and why. */
export interface MissedObject {
  boardId: string;
  periodKey: string;
  error: string;
}

/** What a projection left undone: records no store could hold, and objects that failed. */
export interface ProjectionOutcome {
  /**
   * Records set aside before any store saw them (see projectionProblem); their board-periods need a
   * repair.
   */
  unprojectable: Array<MissedObject & { playerId: string }>;
  /**
   * Board-periods whose Durable Object call failed; every other board-period of the batch was
   * projected.
   */
  failed: MissedObject[];
}

export interface ProjectionOptions {
  /** Where the Redis write and the page purge go: not awaited, off the consumer's path. */
  waitUntil: (promise: Promise<unknown>) => void;
  /**
   * Exact counts after the batch (countsOf); a board-period missing here gets its new players
   * added.
   */
  totals?: ReadonlyMap<string, CountedTotal>;
  /** The batch's Postgres time (PersistResult.writtenAt): the new watermark; 0 or unset: unknown. */
  writtenAt?: number;
  /** Workers Cache (the handler's ctx.cache), which the pages of changed board-periods leave. */
  cache?: CacheContext;
}

/**
 * The seam between the system of record and its projections, called by the consumer after the
 * batch committed with the final state of every record the batch named:
 *  - one LeaderboardDO call per board-period (all of that object's changes at once);
 *  - one Redis pipeline for the whole batch (when Upstash is configured), in the background.
 * Safe to call twice with the same changes: both stores apply a record only if its version is
 * newer than the one they hold. One board-period's failure never stops the others: a record no
 * store could hold is set aside, and an object call that fails is reported, for the consumer to
 * retry the batch or, after a few attempts, queue the object for a rebuild. A failing Redis is
 * logged and its board-periods are queued for the reconciliation cron (rank_resync): Redis is
 * optional, and an outage must not stall ingestion.
 */
export async function projectScoreChanges(
  env: AppBindings,
  changes: ScoreChange[],
  boards: Map<string, Board>,
  options: ProjectionOptions,
): Promise<ProjectionOutcome> {
  const { waitUntil, totals = new Map(), writtenAt = 0 } = options;
  const outcome: ProjectionOutcome = { unprojectable: [], failed: [] };
  const groups = new Map<string, { board: Board; periodKey: string; changes: ScoreChange[] }>();
  for (const change of changes) {
    const board = boards.get(change.boardId);
    if (!board) continue;
    const problem = projectionProblem(change);
    if (problem) {
      outcome.unprojectable.push({
        boardId: change.boardId,
        periodKey: change.periodKey,
        playerId: change.playerId,
        error: problem,
      });
      continue;
    }
    const key = boardPeriodKey(change.boardId, change.periodKey);
    const group = groups.get(key) ?? { board, periodKey: change.periodKey, changes: [] };
    group.changes.push(change);
    groups.set(key, group);
  }

  const groupList = [...groups.values()];
  const settled = await Promise.allSettled(
    groupList.map(({ board, periodKey, changes: group }) => {
      count("doApplies");
      return leaderboardStub(env, board.id, periodKey).applyChanges(
        objectConfig(env, board, periodKey),
        group.map((c) => ({
          playerId: c.playerId,
          score: c.score,
          reachedAt: c.reachedAt,
          version: c.version,
          displayName: c.displayName,
          metadata: c.metadata as Metadata | null,
        })),
        // A record at version 1 that this batch wrote is a player new to the board-period.
        group.filter((c) => c.changed && c.version === 1).length,
        totals.get(boardPeriodKey(board.id, periodKey)),
        writtenAt > 0 ? writtenAt : undefined,
      );
    }),
  );
  const watermarks = new Map<string, { writtenAt: number; expectedAt: number }>();
  settled.forEach((result, i) => {
    const group = groupList[i];
    if (!group) return;
    if (result.status === "rejected") {
      outcome.failed.push({
        boardId: group.board.id,
        periodKey: group.periodKey,
        error: describeError(result.reason),
      });
    } else {
      watermarks.set(boardPeriodKey(group.board.id, group.periodKey), {
        writtenAt,
        expectedAt: result.value.previousWrittenAt,
      });
      noteWatermark(group.board.id, group.periodKey, writtenAt);
    }
  });

  // Redis is written after the objects, which say what Redis should already hold (their
  // watermark before this batch), and in the background: a failure is only logged either way
  // (Redis is optional and reconciled from Postgres), so holding the batch's acks for it would
  // only add latency.
  // The pages of every board-period the objects took are purged once Redis has the batch too
  // (pages past the top-N come from Redis): a page loaded after the purge has both.
  const projected = groupList
    .filter((_, i) => settled[i]?.status === "fulfilled")
    .map((group) => ({ boardId: group.board.id, periodKey: group.periodKey }));
  const purge = () =>
    purgePages(env, options.cache, projected).catch((error: unknown) => {
      log.warn("projection: page purge failed; pages refresh at their TTL", {
        error: describeError(error),
      });
    });
  const redis = openRedis(env);
  waitUntil(
    (redis
      ? projectToRedis(env, redis, groupList, watermarks, changes.length, writtenAt)
      : Promise.resolve()
    ).then(purge),
  );
  return outcome;
}

/**
 * One pipeline for the batch's Redis writes, through the isolate's breaker. Board-periods whose
 * keys turn out to trail their object's watermark (a Redis restored from an older copy, writes
 * lost while it was away) lose their ready marker in the same script, so readers stop trusting
 * them at once, and are queued for the cron to reload. When the write fails, the cron re-applies
 * the records updated since (rank_resync.since) instead: other isolates may read those few
 * records a minute stale meanwhile, where dropping the marker would send every read of the board
 * to Postgres and cost a reload of millions of rows.
 */
async function projectToRedis(
  env: AppBindings,
  redis: Redis,
  groups: ReadonlyArray<{ board: Board; periodKey: string; changes: ScoreChange[] }>,
  watermarks: ReadonlyMap<string, { writtenAt: number; expectedAt: number }>,
  records: number,
  /** The batch's Postgres time (0: unknown). */
  batchWrittenAt: number,
): Promise<void> {
  try {
    const pastDays = parsePastPeriodDays(env.REDIS_PAST_PERIOD_DAYS);
    const writes = groups.flatMap(({ board, periodKey, changes: group }) => {
      const expiresAt = pastPeriodExpiryMs(board, periodKey, pastDays);
      return group.map((c) => redisChangeOf(c, board.sortOrder, expiresAt));
    });
    const result = await redisBreakerFor(env).run(() =>
      applyToRedis(redis, env.REDIS_KEY_PREFIX, writes, { watermarks }),
    );
    // Applied: the keys now hold this batch's marker (those found behind lost theirs until a
    // reload).
    for (const { board, periodKey } of groups) {
      const mark = watermarks.get(boardPeriodKey(board.id, periodKey));
      if (mark) noteRedisProjection(board.id, periodKey, mark.writtenAt);
    }
    if (result.behind.length > 0) {
      count("redisBehind", result.behind.length);
      log.warn(
        "projection: Redis trails Postgres (restored or lost writes); " +
          "those board-periods are reloaded",
        {
          boardPeriods: result.behind.slice(0, 20),
        },
      );
      await requestResync(env, result.behind, "reload");
    }
  } catch (error) {
    if (error instanceof CircuitOpenError) count("redisSkipped");
    else
      log.warn(
        "projection: Redis write failed; " +
          "the reconciliation cron reloads the board-periods it missed",
        {
          error: describeError(error),
          records,
        },
      );
    const missed = groups.map((g) => ({ boardId: g.board.id, periodKey: g.periodKey }));
    for (const bp of missed) {
      // Until a repair (whose marker is later than this batch), this isolate's reads refuse the
      // keys.
      noteRedisProjection(bp.boardId, bp.periodKey, batchWrittenAt);
    }
    await requestResync(env, missed, "records");
  }
}
