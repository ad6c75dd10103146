import { boardPeriodKey } from "../../domain";
import type { CountedTotal } from "../../domain/leaderboard";
import type { AppBindings } from "../../env";
import { describeError, log } from "../../lib/log";
import { withTimeout } from "../../lib/timeout";
import { purgePages } from "../../stores/cache/pages";
import { leaderboardStub, objectConfig } from "../../stores/objects/leaderboard";
import type { Database } from "../../stores/postgres/client";
import type { TakenRecord } from "../../stores/postgres/moderation";
import { countsOf } from "../../stores/postgres/ranks";
import type { Board } from "../../stores/postgres/schema";
import { openRedis, redisBreakerFor } from "../../stores/redis/client";
import { WATERMARK_TOLERANCE_MS } from "../../stores/redis/lua";
import { removeFromRedis } from "../../stores/redis/remove";
import { requestObjectRepairs } from "../projection/object-repairs";
import { requestResync } from "../projection/score-projection";

/** A board-period's share of a moderation action. */
interface Group {
  board: Board;
  periodKey: string;
  removals: Array<{ playerId: string; version: number }>;
}

/** Object calls in flight at once (a ban may touch every period a player ever played). */
const OBJECT_CALLS_AT_ONCE = 50;
const OBJECT_CALL_TIMEOUT_MS = 5_000;

/**
 * How long after an action its removal is repeated in Redis: a batch that committed just before
 * the action may still be projecting (Redis is written after the objects, in the background), and
 * the same bound covers how late such a projection can land (see WATERMARK_TOLERANCE_MS).
 */
const SETTLE_MS = WATERMARK_TOLERANCE_MS;

function groupsOf(taken: readonly TakenRecord[], boards: ReadonlyMap<string, Board>): Group[] {
  const groups = new Map<string, Group>();
  for (const record of taken) {
    const board = boards.get(record.boardId);
    if (!board) continue;
    const key = boardPeriodKey(record.boardId, record.periodKey);
    const group = groups.get(key) ?? { board, periodKey: record.periodKey, removals: [] };
    group.removals.push({ playerId: record.playerId, version: record.version });
    groups.set(key, group);
  }
  return [...groups.values()];
}

async function exactCounts(db: Database, groups: readonly Group[]) {
  try {
    return await countsOf(
      db,
      groups.map((g) => ({ boardId: g.board.id, periodKey: g.periodKey })),
    );
  } catch (error) {
    log.warn("moderation: counts unavailable; the objects count one record fewer each", {
      error: describeError(error),
    });
    return new Map<string, CountedTotal>();
  }
}

/** The objects' share: a failed call queues the object for a rebuild (the repair cron). */
async function removeFromObjects(
  env: AppBindings,
  db: Database,
  groups: readonly Group[],
  totals: ReadonlyMap<string, CountedTotal>,
): Promise<void> {
  const missed: Array<{ boardId: string; periodKey: string; error: string }> = [];
  for (let i = 0; i < groups.length; i += OBJECT_CALLS_AT_ONCE) {
    const slice = groups.slice(i, i + OBJECT_CALLS_AT_ONCE);
    const settled = await Promise.allSettled(
      slice.map(({ board, periodKey, removals }) =>
        withTimeout(
          leaderboardStub(env, board.id, periodKey).removePlayers(
            objectConfig(env, board, periodKey),
            removals,
            totals.get(boardPeriodKey(board.id, periodKey)),
          ),
          OBJECT_CALL_TIMEOUT_MS,
          "a board object's removal",
        ),
      ),
    );
    settled.forEach((result, k) => {
      const group = slice[k];
      if (result.status === "rejected" && group)
        missed.push({
          boardId: group.board.id,
          periodKey: group.periodKey,
          error: describeError(result.reason),
        });
    });
  }
  if (missed.length === 0) return;
  log.warn("moderation: objects missed a removal; they are queued for a rebuild", {
    objects: missed.slice(0, 20),
  });
  await requestObjectRepairs(db, missed);
}

/** Redis' share; a failure queues the board-periods for a reload from Postgres (the cron). */
async function removeFromRanks(env: AppBindings, groups: readonly Group[]): Promise<void> {
  const redis = openRedis(env);
  if (!redis || groups.length === 0) return;
  const removals = groups.flatMap((g) =>
    g.removals.map((r) => ({ boardId: g.board.id, periodKey: g.periodKey, ...r })),
  );
  try {
    await redisBreakerFor(env).run(() => removeFromRedis(redis, env.REDIS_KEY_PREFIX, removals));
  } catch (error) {
    log.warn("moderation: Redis removal failed; those board-periods are reloaded", {
      error: describeError(error),
    });
    await requestResync(
      env,
      groups.map((g) => ({ boardId: g.board.id, periodKey: g.periodKey })),
      "reload",
    );
  }
}

/**
 * Mirrors records a moderation action took out of Postgres: the board-periods' objects (each
 * told Postgres' count after the action), Redis, then the cached pages (purged last, so a page
 * loaded after the purge has both). Redis is done again SETTLE_MS later, in the background, for
 * the projection of a batch that committed just before the action and lands after it (the
 * objects remember the removed versions and refuse it themselves). Unused `parsePastPeriodDays`
 * bounds nothing here: an expired period's keys are simply absent.
 */
export async function projectRemovals(
  env: AppBindings,
  db: Database,
  cache: CacheContext | undefined,
  taken: readonly TakenRecord[],
  boards: ReadonlyMap<string, Board>,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  const groups = groupsOf(taken, boards);
  if (groups.length === 0) return;
  const totals = await exactCounts(db, groups);
  await removeFromObjects(env, db, groups, totals);
  await removeFromRanks(env, groups);
  const purge = () =>
    purgePages(
      env,
      cache,
      groups.map((g) => ({ boardId: g.board.id, periodKey: g.periodKey })),
    ).catch((error: unknown) => {
      log.warn("moderation: page purge failed; pages refresh at their TTL", {
        error: describeError(error),
      });
    });
  await purge();
  waitUntil(
    new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      .then(() => removeFromRanks(env, groups))
      .then(purge),
  );
}
