import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { reconcileRanks } from "../../src/cron/reconcile-ranks";
import { leaderboardObjectName } from "../../src/domain/board-period-key";
import worker from "../../src/index";
import { counters } from "../../src/lib/metrics";
import { readPlayerRank } from "../../src/services/leaderboards/reads";
import { storesFor } from "../../src/stores";
import { openDatabase } from "../../src/stores/postgres/client";
import { redisBreakerFor } from "../../src/stores/redis/client";
import { rankKeys } from "../../src/stores/redis/keys";
import { WATERMARK_TOLERANCE_MS } from "../../src/stores/redis/lua";
import { encodeMember } from "../../src/stores/redis/member";
import { countFromRedis, rankFromRedis } from "../../src/stores/redis/ranks";
import { minimumRedisWatermark } from "../../src/stores/redis/watermarks";
import { createBoard, eventually, query, testEnv } from "../helpers/factories";
import { consumeScores } from "../helpers/score-queue";
import { keyTracker, testRedis } from "../stores/redis/fixtures";

const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const hasRedis = Boolean(testEnv.UPSTASH_REDIS_REST_URL);
const T0 = Date.now() - 60_000;

const consume = (board: string, scores: Array<[string, number]>) =>
  consumeScores(board, scores, { occurredAt: T0 });

/**
 * Runs the every-minute cron's reconciliation for this test's board alone (others may be due too).
 */
async function reconcile() {
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    return await reconcileRanks(handle.db, testRedis(), prefix, new Date(), {
      watermarkOf: (boardId, periodKey) =>
        testEnv.LEADERBOARD.getByName(leaderboardObjectName(boardId, periodKey)).watermark(),
    });
  } finally {
    await handle.close();
  }
}

/**
 * Runs the reconciliation until `done`: the reason of the run that reloaded the board, or
 * "elsewhere" when an overlapping run (another file's) held the lease and did it.
 */
async function reconcileUntil(board: string, done: () => Promise<boolean>): Promise<string> {
  for (let i = 0; i < 50; i += 1) {
    const reason = (await reconcile()).reloaded.find((r) => r.boardId === board)?.reason;
    if (reason) return reason;
    if (await done()) return "elsewhere";
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("the board was never reloaded");
}

/** A read context and the board's definition, as a request would have them. */
async function readsOf(board: string) {
  const { getBoards } = await import("../../src/stores/cache/boards");
  const { boardLoader } = await import("../../src/services/boards");
  const ctx = storesFor(testEnv);
  const definition = (await getBoards([board], boardLoader(ctx.db))).get(board);
  if (!definition) throw new Error(`board ${board} not found`);
  return { ctx, definition };
}

/**
 * A board of `players` players (`${prefix}0`, ... scoring 10, 11, ...) whose Redis keys the cron
 * has loaded.
 */
async function loadedBoard(
  prefixOf: string,
  players: number,
): Promise<{ board: string; keys: ReturnType<typeof rankKeys> }> {
  const board = await createBoard({ periods: ["all"] });
  written.track(board, "all");
  await consume(
    board,
    Array.from({ length: players }, (_, i): [string, number] => [`${prefixOf}${i}`, 10 + i]),
  );
  const keys = rankKeys(prefix, board, "all");
  await eventually(async () => {
    await reconcile();
    return (await testRedis().exists(keys.ready)) === 1 ? true : undefined;
  });
  return { board, keys };
}

/**
 * A board of ten players whose Redis keys are loaded and ready, then "restored from an older
 * copy": the leader's newer record is taken back to what an earlier snapshot held, and the marker
 * to that snapshot's time, `lagMs` before the leader's batch (by default older than the tolerance).
 */
async function restoredBoard(
  lagMs = WATERMARK_TOLERANCE_MS + 60_000,
): Promise<{ board: string; keys: ReturnType<typeof rankKeys> }> {
  const { board, keys } = await loadedBoard("r", 10);
  await consume(board, [["r0", 500]]);
  await eventually(async () =>
    (await rankFromRedis(testRedis(), prefix, board, "all", "r0"))?.rank === 1 ? true : undefined,
  );
  const marker = Number(await testRedis().get(keys.ready));

  // The older copy: r0 at version 1 with 10 points, and its snapshot time.
  const redis = testRedis();
  const record = (await redis.hget(keys.m, "r0")) as string;
  await redis.zrem(keys.z, record.slice(record.indexOf("|") + 1));
  const old = encodeMember(T0, "r0");
  await redis.zadd(keys.z, { score: -10, member: old });
  await redis.hset(keys.m, { r0: `1|${old}` });
  await redis.set(keys.ready, String(marker - lagMs));
  expect((await rankFromRedis(redis, prefix, board, "all", "r0"))?.rank).toBe(10);
  return { board, keys };
}

describe.skipIf(!hasRedis)(
  "a Redis restored from an older copy is not trusted (needs Redis: set REDIS_URL)",
  () => {
    afterAll(() => written.clear(testRedis()));

    it("the next projection finds its keys trailing the object's watermark: readers stop trusting them, the cron reloads them", async () => {
      const { board, keys } = await restoredBoard();
      const before = counters.redisBehind;
      await consume(board, [["r5", 16]]);
      await eventually(
        async () => ((await testRedis().exists(keys.ready)) === 0 ? true : undefined),
        10_000,
        "the marker dropped",
      );
      expect(counters.redisBehind - before).toBe(1);
      expect(await query(sql`select 1 from rank_resync where board_id = ${board}`)).toHaveLength(1);

      // Reads no longer take the stale rank from Redis.
      const { ctx, definition } = await readsOf(board);
      const standing = await readPlayerRank(ctx, definition, "all", "r0");
      expect(standing).toMatchObject({ rank: 1, score: 500 });
      expect(standing?.source).not.toBe("redis");

      const result = await reconcile();
      expect(
        result.reloaded.some((r) => r.boardId === board && r.reason === "resync") ||
          (await testRedis().exists(keys.ready)) === 1,
      ).toBe(true);
      await eventually(async () =>
        (await rankFromRedis(testRedis(), prefix, board, "all", "r0"))?.rank === 1
          ? true
          : undefined,
      );
      expect(await countFromRedis(testRedis(), prefix, board, "all")).toBe(10);
    });

    it("reads in an isolate that has seen the object's newer watermark refuse the restored keys at once, before any projection", async () => {
      const { board } = await restoredBoard();
      const { ctx, definition } = await readsOf(board);
      const before = counters.redisNotReady;
      const standing = await readPlayerRank(ctx, definition, "all", "r0");
      expect(standing).toMatchObject({ rank: 1, score: 500 });
      expect(standing?.source).not.toBe("redis");
      expect(counters.redisNotReady - before).toBe(1);
      // A player far down is not taken from the restored keys either.
      expect((await readPlayerRank(ctx, definition, "all", "r1"))?.source).not.toBe("redis");
    });

    it("the isolate whose projection the copy lacks refuses it even when taken a moment before (within the read tolerance)", async () => {
      const { board } = await restoredBoard(500);
      const { ctx, definition } = await readsOf(board);
      const before = counters.redisNotReady;
      expect(await readPlayerRank(ctx, definition, "all", "r0")).toMatchObject({
        rank: 1,
        score: 500,
      });
      expect(await readPlayerRank(ctx, definition, "all", "r1")).toMatchObject({ rank: 10 });
      expect(counters.redisNotReady - before).toBe(2);
    });

    it("a board quiet since the restore is found by the cron comparing each marker with its object's watermark", async () => {
      const { board, keys } = await restoredBoard();
      const result = await reconcile();
      const mine = result.reloaded.find((r) => r.boardId === board);
      expect(mine?.reason).toBe("behind");
      expect(await testRedis().exists(keys.ready)).toBe(1);
      expect((await rankFromRedis(testRedis(), prefix, board, "all", "r0"))?.rank).toBe(1);
    });

    it("keys that lost their ZSET or their HASH (eviction) are refused by readers, dropped by the next projection and reloaded", async () => {
      const { board, keys } = await loadedBoard("e", 8);
      const redis = testRedis();
      await redis.del(keys.z);
      const { RedisNotReadyError } = await import("../../src/stores/redis/ranks");
      await expect(rankFromRedis(redis, prefix, board, "all", "e3")).rejects.toThrow(
        RedisNotReadyError,
      );
      // Other files' cron runs may hold the reload's lease and do it: then this run lists nothing.
      const loaded = () => countFromRedis(redis, prefix, board, "all").then((n) => n === 8);
      expect(await reconcileUntil(board, loaded)).toMatch(/^(not_ready|elsewhere)$/);
      expect((await rankFromRedis(redis, prefix, board, "all", "e3"))?.rank).toBe(5);

      // Both data keys gone, the marker left: an empty board-period to Redis, not to its object.
      await redis.del(keys.z, keys.m);
      expect(await reconcileUntil(board, loaded)).toMatch(/^(behind|elsewhere)$/);
      expect(await countFromRedis(redis, prefix, board, "all")).toBe(8);

      // A projection meeting a lost HASH drops the marker rather than adding a second member per
      // player.
      await redis.del(keys.m);
      await consume(board, [["e1", 99]]);
      expect(await redis.exists(keys.ready)).toBe(0);
    });

    it("a marker within the tolerance of the object's watermark is left alone (projections still in flight)", async () => {
      const board = await createBoard({ periods: ["all"] });
      written.track(board, "all");
      await consume(board, [["q1", 1]]);
      const keys = rankKeys(prefix, board, "all");
      await eventually(async () => {
        await reconcile();
        return (await testRedis().exists(keys.ready)) === 1 ? true : undefined;
      });
      const watermark = await testEnv.LEADERBOARD.getByName(
        leaderboardObjectName(board, "all"),
      ).watermark();
      expect(watermark).toBeGreaterThan(0);
      await testRedis().set(keys.ready, String(watermark - WATERMARK_TOLERANCE_MS + 1_000));
      const result = await reconcile();
      expect(result.reloaded.find((r) => r.boardId === board)).toBeUndefined();
      await consume(board, [["q2", 2]]);
      expect(await testRedis().exists(keys.ready)).toBe(1);
    });

    it("a write skipped while the circuit was open keeps this isolate's reads off the keys once Redis answers again, until the reload", async () => {
      const { board } = await loadedBoard("s", 10);
      const breaker = redisBreakerFor(testEnv);
      for (let i = 0; i < 3; i++)
        await breaker.run(() => Promise.reject(new Error("Redis unreachable"))).catch(() => {});
      expect(breaker.state()).toBe("open");
      const skipped = counters.redisSkipped;
      await consume(board, [["s0", 500]]);
      expect(counters.redisSkipped - skipped).toBe(1);
      // The keys still hold s0's old record under a marker from moments before the skipped batch.
      expect((await rankFromRedis(testRedis(), prefix, board, "all", "s0"))?.rank).toBe(10);

      // The cool-down passes; the next read is the probe that closes the circuit.
      await eventually(
        async () => (breaker.state() === "half_open" ? true : undefined),
        10_000,
        "the circuit half-open",
      );
      const { ctx, definition } = await readsOf(board);
      const notReady = counters.redisNotReady;
      expect(await readPlayerRank(ctx, definition, "all", "s0")).toMatchObject({
        rank: 1,
        score: 500,
      });
      expect(await readPlayerRank(ctx, definition, "all", "s1")).toMatchObject({ rank: 10 });
      expect(counters.redisNotReady - notReady).toBe(2);
      expect(breaker.state()).toBe("closed");

      // The cron re-applies the records the skipped write missed (no reload); the keys are
      // trusted again.
      const reconciled = await reconcile();
      expect(reconciled.reloaded.find((r) => r.boardId === board)).toBeUndefined();
      expect(reconciled.resyncedCount).toBeGreaterThanOrEqual(1);
      const floor = minimumRedisWatermark(board, "all");
      expect(
        (await rankFromRedis(testRedis(), prefix, board, "all", "s0", { minWatermark: floor }))
          ?.rank,
      ).toBe(1);
    });

    it("the scheduled handler wires the objects' watermarks into the reconciliation", async () => {
      const { board } = await restoredBoard();
      const ctx = createExecutionContext();
      await worker.scheduled(
        createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }),
        testEnv,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      await eventually(
        async () =>
          (await rankFromRedis(testRedis(), prefix, board, "all", "r0"))?.rank === 1
            ? true
            : undefined,
        30_000,
      );
    });
  },
);
