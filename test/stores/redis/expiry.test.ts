import type { Redis } from "@upstash/redis/cloudflare";
import { afterAll, describe, expect, it } from "vitest";
import { rankKeys } from "../../../src/stores/redis/keys";
import {
  applyToRedis,
  RedisNotReadyError,
  rankFromRedis,
  replaceBoardPeriod,
  startBoardPeriodLoad,
} from "../../../src/stores/redis/ranks";
import { testEnv, uniqueId } from "../../helpers/factories";
import { keyTracker, markLoaded, type Row, testRedis } from "./fixtures";

const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const HOUR = 3_600_000;
const t = Date.UTC(2026, 10, 22);

function boardPeriod(): { boardId: string; periodKey: string } {
  const bp = { boardId: uniqueId("rx"), periodKey: "2026-11-22" };
  written.track(bp.boardId, bp.periodKey);
  return bp;
}

const rows: Row[] = [
  { playerId: "a", version: 1, sortScore: -10, reachedAt: t },
  { playerId: "b", version: 1, sortScore: -5, reachedAt: t },
];

/** PTTL of the board-period's three keys: -2 gone, -1 no expiry, else ms left. */
async function ttls(redis: Redis, bp: { boardId: string; periodKey: string }): Promise<number[]> {
  const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
  return Promise.all([redis.pttl(keys.z), redis.pttl(keys.m), redis.pttl(keys.ready)]);
}

/**
 * Every TTL within seconds of `ms` (the test's own round trips; workerd's clock only moves on I/O).
 */
function expectNear(values: number[], ms: number): void {
  for (const v of values) expect(Math.abs(v - ms)).toBeLessThan(10_000);
}

describe.skipIf(!testEnv.UPSTASH_REDIS_REST_URL)(
  "redis rank store expiry of past periods (needs Redis: set REDIS_URL)",
  () => {
    afterAll(() => written.clear(testRedis()));

    it("a projection sets the expiry on all three keys, the ready marker included", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      (
        await applyToRedis(
          redis,
          prefix,
          rows.map((r) => ({ ...bp, ...r })),
        )
      ).applied;
      await markLoaded(redis, prefix, bp);
      expect((await ttls(redis, bp)).slice(0, 2).every((v) => v === -1)).toBe(true);
      const expiresAt = Date.now() + 5 * HOUR;
      (await applyToRedis(redis, prefix, [{ ...bp, ...(rows[0] as Row), version: 2, expiresAt }]))
        .applied;
      expectNear(await ttls(redis, bp), 5 * HOUR);
      expect((await rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "b"))?.rank).toBe(2);
    });

    it("a write after the expiry (a late event for a period Redis dropped) leaves no key behind", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const past = Date.now() - HOUR;
      // Loaded, then the period's time is up: the next write removes everything, marker included.
      await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, rows, { reset: true });
      (
        await applyToRedis(redis, prefix, [
          { ...bp, playerId: "late", version: 1, sortScore: -1, reachedAt: t, expiresAt: past },
        ])
      ).applied;
      expect(await ttls(redis, bp)).toEqual([-2, -2, -2]);
      // Reads then refuse, so the caller answers from Postgres.
      await expect(rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "a")).rejects.toThrow(
        RedisNotReadyError,
      );
    });

    it("a load gives the swapped-in keys and the marker the period's expiry; without one they never expire", async () => {
      const redis = testRedis();
      const bounded = boardPeriod();
      const load = startBoardPeriodLoad(redis, prefix, bounded.boardId, bounded.periodKey, {
        expiresAt: Date.now() + 2 * HOUR,
      });
      await load.add(rows);
      await load.commit();
      expectNear(await ttls(redis, bounded), 2 * HOUR);

      // Reloading as all-time-like (no expiry) drops it again: the build TTL never survives a swap.
      await replaceBoardPeriod(redis, prefix, bounded.boardId, bounded.periodKey, rows, {
        reset: true,
        expiresAt: null,
      });
      expect(await ttls(redis, bounded)).toEqual([-1, -1, -1]);

      // An empty load keeps only the marker, with the expiry.
      await replaceBoardPeriod(redis, prefix, bounded.boardId, bounded.periodKey, [], {
        reset: true,
        expiresAt: Date.now() + HOUR,
      });
      expect((await ttls(redis, bounded)).slice(0, 2)).toEqual([-2, -2]);
      expectNear((await ttls(redis, bounded)).slice(2), HOUR);
    });

    it("a merge re-arms the expiry like a projection", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, rows, { reset: true });
      await replaceBoardPeriod(
        redis,
        prefix,
        bp.boardId,
        bp.periodKey,
        [{ ...(rows[1] as Row), version: 2, sortScore: -20 }],
        {
          reset: false,
          expiresAt: Date.now() + 3 * HOUR,
        },
      );
      expectNear(await ttls(redis, bp), 3 * HOUR);
      expect((await rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "b"))?.rank).toBe(1);
    });
  },
);
