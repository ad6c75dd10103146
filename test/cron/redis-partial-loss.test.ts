import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { reconcileRanks } from "../../src/cron/reconcile-ranks";
import { counters } from "../../src/lib/metrics";
import type { VerifyOptions } from "../../src/services/projection/rank-verify";
import { openDatabase } from "../../src/stores/postgres/client";
import { playerRankFromPostgres } from "../../src/stores/postgres/ranks";
import { rankKeys } from "../../src/stores/redis/keys";
import { encodeMember } from "../../src/stores/redis/member";
import { countFromRedis, RedisNotReadyError, rankFromRedis } from "../../src/stores/redis/ranks";
import { createBoard, eventually, query, testEnv } from "../helpers/factories";
import { consumeScores } from "../helpers/score-queue";
import { watchUpstash } from "../helpers/upstash-watch";
import { keyTracker, testRedis } from "../stores/redis/fixtures";

const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const hasRedis = Boolean(testEnv.UPSTASH_REDIS_REST_URL);
const T0 = Date.now() - 60_000;

const consume = (board: string, scores: Array<[string, number]>) =>
  consumeScores(board, scores, { occurredAt: T0 });

/** One reconciliation run; `verify` bounds its comparison (tests name their board first). */
async function reconcile(verify: VerifyOptions = {}) {
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    return await reconcileRanks(handle.db, testRedis(), prefix, new Date(), { verify });
  } finally {
    await handle.close();
  }
}

/**
 * A board of `players` players (`${p}0`... scoring 10, 11, ...), loaded into Redis by the cron and
 * then aged: its records were written ten minutes ago, long before the keys' marker, so none of
 * them is still in flight.
 */
async function agedBoard(p: string, players: number) {
  const board = await createBoard({ periods: ["all"] });
  written.track(board, "all");
  await consume(
    board,
    Array.from({ length: players }, (_, i): [string, number] => [`${p}${i}`, 10 + i]),
  );
  const keys = rankKeys(prefix, board, "all");
  await eventually(async () => {
    await reconcile({ perRun: 0 });
    return (await testRedis().exists(keys.ready)) === 1 ? true : undefined;
  });
  await query(sql`update scores set updated_at = updated_at - interval '10 minutes'
    where board_id = ${board}`);
  return { board, keys };
}

/** A player's ZSET member, as its HASH record names it. */
async function memberOf(keys: ReturnType<typeof rankKeys>, player: string): Promise<string> {
  const record = (await testRedis().hget(keys.m, player)) as string;
  return record.slice(record.indexOf("|") + 1);
}

const mine = (board: string) => ({ first: [board], perRun: 1, sample: 64 });

async function reloadRequests(board: string) {
  return query<{ since: string | null }>(
    sql`select since::text from rank_resync where board_id = ${board}`,
  );
}

/** The next runs reload the board (as a resync: the check's request) and Redis agrees again. */
async function repairedByNextRun(board: string, players: string[]) {
  const result = await reconcile({ perRun: 0 });
  expect(result.reloaded.find((r) => r.boardId === board)?.reason).toBe("resync");
  expect(await reloadRequests(board)).toEqual([]);
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    for (const player of players) {
      const pg = await playerRankFromPostgres(handle.db, board, "all", player);
      const rd = await rankFromRedis(testRedis(), prefix, board, "all", player);
      expect(rd?.rank, player).toBe(pg?.rank);
      expect(rd?.total, player).toBe(pg?.total);
    }
  } finally {
    await handle.close();
  }
  // Checked again, it agrees.
  const again = await reconcile(mine(board));
  expect(again.verifiedCount).toBe(1);
  expect(again.mismatches).toEqual([]);
}

describe.skipIf(!hasRedis)(
  "partial Redis loss behind a ready marker is found and repaired (needs Redis: set REDIS_URL)",
  () => {
    afterAll(() => written.clear(testRedis()));

    it("a member deleted with its HASH record (the counts still agree): the sample finds it, the next run reloads", async () => {
      const { board, keys } = await agedBoard("m", 12);
      const redis = testRedis();
      await redis.zrem(keys.z, await memberOf(keys, "m3"));
      await redis.hdel(keys.m, "m3");
      // The guard cannot see it: Redis answers, wrongly, that m3 is not on the board.
      expect(await rankFromRedis(redis, prefix, board, "all", "m3")).toBeNull();

      const before = counters.redisMismatches;
      // No count (countRows 0): the record sample alone finds it.
      const result = await reconcile({ ...mine(board), countRows: 0 });
      expect(result.mismatches).toEqual([
        { boardId: board, periodKey: "all", first: { kind: "missing", playerId: "m3" }, found: 1 },
      ]);
      expect(result.mismatchCount).toBe(1);
      expect(counters.redisMismatches - before).toBe(1);
      expect(await reloadRequests(board)).toEqual([{ since: null }]);
      await repairedByNextRun(board, ["m0", "m3", "m11"]);
    });

    it("the same loss is found by the count when no sampled record is the lost one", async () => {
      const { board, keys } = await agedBoard("n", 12);
      const redis = testRedis();
      await redis.zrem(keys.z, await memberOf(keys, "n5"));
      await redis.hdel(keys.m, "n5");
      const result = await reconcile({ ...mine(board), sample: 0 });
      expect(result.mismatches).toEqual([
        {
          boardId: board,
          periodKey: "all",
          first: { kind: "count", detail: "Redis 11, Postgres 12 (0 in flight)" },
          found: 1,
        },
      ]);
      await repairedByNextRun(board, ["n5", "n0"]);
    });

    it("a member removed from the ZSET alone is refused by readers and reloaded as not ready", async () => {
      const { board, keys } = await agedBoard("z", 6);
      const redis = testRedis();
      await redis.zrem(keys.z, await memberOf(keys, "z2"));
      await expect(rankFromRedis(redis, prefix, board, "all", "z1")).rejects.toThrow(
        RedisNotReadyError,
      );
      const result = await reconcile(mine(board));
      expect(result.reloaded.find((r) => r.boardId === board)?.reason).toBe("not_ready");
      expect(result.mismatches).toEqual([]);
      expect((await rankFromRedis(redis, prefix, board, "all", "z2"))?.rank).toBe(4);
      expect(await countFromRedis(redis, prefix, board, "all")).toBe(6);
    });

    it("a wrong score written behind the marker: found by the sample, reloaded next run", async () => {
      const { board, keys } = await agedBoard("w", 10);
      const redis = testRedis();
      // w0 (10 points, last) shows 999 points in Redis, its record and version untouched.
      await redis.zadd(keys.z, { xx: true }, { score: -999, member: await memberOf(keys, "w0") });
      expect((await rankFromRedis(redis, prefix, board, "all", "w0"))?.rank).toBe(1);
      const result = await reconcile(mine(board));
      expect(result.mismatches).toEqual([
        { boardId: board, periodKey: "all", first: { kind: "score", playerId: "w0" }, found: 1 },
      ]);
      await repairedByNextRun(board, ["w0", "w9"]);
    });

    it("a count that differs: a record Redis never got, and a player Postgres never had", async () => {
      const { board, keys } = await agedBoard("c", 5);
      // A record written long ago that no projection carried.
      await query(sql`insert into scores (board_id, period_key, player_id, score, sort_score,
          reached_at, updated_at)
        values (${board}, 'all', 'c-lost', 7, -7, now() - interval '1 hour',
          now() - interval '1 hour')`);
      const lost = await reconcile({ ...mine(board), sample: 0 });
      expect(lost.mismatches[0]?.first).toEqual({
        kind: "count",
        detail: "Redis 5, Postgres 6 (0 in flight)",
      });
      await repairedByNextRun(board, ["c-lost", "c0"]);

      // A player in Redis (ZSET and HASH) that Postgres has no record of.
      const ghost = encodeMember(T0, "ghost");
      await testRedis().zadd(keys.z, { score: -1_000, member: ghost });
      await testRedis().hset(keys.m, { ghost: `1|${ghost}` });
      const extra = await reconcile({ ...mine(board), sample: 0 });
      expect(extra.mismatches[0]?.first.kind).toBe("count");
      await repairedByNextRun(board, ["c0"]);
      expect(await rankFromRedis(testRedis(), prefix, board, "all", "ghost")).toBeNull();
    });

    it("records written after the marker's in-flight window opened are not taken for loss", async () => {
      const { board } = await agedBoard("f", 8);
      // A new player and a new version of f1 in Postgres whose projections have not landed yet.
      await query(sql`insert into scores (board_id, period_key, player_id, score, sort_score,
          reached_at) values (${board}, 'all', 'f-new', 3, -3, now())`);
      await query(sql`update scores set score = 500, sort_score = -500, version = version + 1,
          updated_at = now() where board_id = ${board} and player_id = 'f1'`);
      const before = counters.redisMismatches;
      const result = await reconcile(mine(board));
      expect(result.verifiedCount).toBe(1);
      expect(result.mismatches).toEqual([]);
      expect(result.inFlight).toBe(2);
      expect(result.compared).toBe(7);
      expect(counters.redisMismatches - before).toBe(0);
      expect(await reloadRequests(board)).toEqual([]);
    });

    it("each run stays within its bounds: one script call per board-period checked, a bounded sample", async () => {
      const { board } = await agedBoard("b", 100);
      // Once first, so Redis knows the script (a NOSCRIPT retry would be a second request).
      await reconcile(mine(board));
      const watch = await watchUpstash(board);
      try {
        const result = await reconcile({ first: [board], perRun: 1, sample: 16 });
        expect(result.verifiedCount).toBe(1);
        expect(result.compared + result.inFlight).toBe(16);
        const seen = await watch.read();
        // The run's ready-marker pipeline (every board-period at once), and the one sample script.
        expect(seen.requests).toBe(2);
        expect(seen.scripts).toBe(1);
        expect(seen.scriptsWithoutKeyLocking).toBe(0);
      } finally {
        await watch.stop();
      }
      // The defaults: at most 8 board-periods, whatever else is ready.
      const defaults = await reconcile();
      expect(defaults.verifiedCount).toBeLessThanOrEqual(8);
    });
  },
);
