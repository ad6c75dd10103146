import type { Redis } from "@upstash/redis/cloudflare";
import { afterAll, describe, expect, it } from "vitest";
import { rankKeys } from "../../../src/stores/redis/keys";
import {
  applyToRedis,
  pageFromRedis,
  RedisNotReadyError,
  rankFromRedis,
  replaceBoardPeriod,
} from "../../../src/stores/redis/ranks";
import { testEnv, uniqueId } from "../../helpers/factories";
import {
  keyTracker,
  markLoaded,
  type Row,
  randomBoard,
  snapshot,
  sortRows,
  testRedis,
} from "./fixtures";

const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const t = Date.UTC(2026, 10, 22);

function boardPeriod(): { boardId: string; periodKey: string } {
  const bp = { boardId: uniqueId("rr"), periodKey: "2026-W47" };
  written.track(bp.boardId, bp.periodKey);
  return bp;
}

/** The board-period as projections wrote it; `loaded`: and marked as loaded whole (readable). */
async function seed(
  redis: Redis,
  bp: { boardId: string; periodKey: string },
  rows: readonly Row[],
  loaded = true,
): Promise<void> {
  (
    await applyToRedis(
      redis,
      prefix,
      rows.map((row) => ({ ...bp, ...row })),
    )
  ).applied;
  if (loaded) await markLoaded(redis, prefix, bp);
}

/** Every entry of the board-period in order, read in pages. */
async function everything(
  redis: Redis,
  bp: { boardId: string; periodKey: string },
): Promise<Row[]> {
  const rows: Row[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await pageFromRedis(redis, prefix, bp.boardId, bp.periodKey, {
      offset,
      limit: 1000,
    });
    rows.push(
      ...page.entries.map(({ playerId, sortScore, reachedAt }) => ({
        playerId,
        sortScore,
        reachedAt,
        version: 0,
      })),
    );
    if (page.entries.length < 1000) return rows;
  }
}

const strip = (rows: readonly Row[]) =>
  rows.map(({ playerId, sortScore, reachedAt }) => ({
    playerId,
    sortScore,
    reachedAt,
    version: 0,
  }));

describe.skipIf(!testEnv.UPSTASH_REDIS_REST_URL)(
  "redis rank store reconciliation (needs Redis: set REDIS_URL)",
  () => {
    afterAll(() => written.clear(testRedis()));

    it("reset swaps the whole set atomically: readers see the old set or the new one, never a partial one", async () => {
      const redis = testRedis();
      const reader = testRedis();
      const bp = boardPeriod();
      const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
      const old = randomBoard(41, 300).finals;
      await seed(redis, bp, old);
      const oldOnly = old[0] as Row;
      // 6000 rows: six chunks, so there is a window in which a non-atomic rebuild would show.
      const fresh: Row[] = Array.from({ length: 6000 }, (_, i) => ({
        playerId: `n-${String(i).padStart(4, "0")}`,
        version: 1,
        sortScore: (i * 7919) % 101,
        reachedAt: t + (i % 3),
      }));

      const seen = new Set<number>();
      const seenOld = new Set<string>();
      let done = false;
      let polls = 0;
      const watching = (async () => {
        while (!done) {
          // Bracketed by the size: each read is atomic, but two reads may straddle the swap (old
          // set for the first, new for the second), and that is no partial set.
          const before = await pageFromRedis(reader, prefix, bp.boardId, bp.periodKey, {
            offset: 0,
            limit: 5,
          });
          const [a, b] = await Promise.all([
            rankFromRedis(reader, prefix, bp.boardId, bp.periodKey, oldOnly.playerId),
            rankFromRedis(reader, prefix, bp.boardId, bp.periodKey, "n-5999"),
          ]);
          const after = await pageFromRedis(reader, prefix, bp.boardId, bp.periodKey, {
            offset: 0,
            limit: 5,
          });
          for (const total of [before.total, after.total, a?.total, b?.total])
            if (total !== undefined) seen.add(total);
          // The swap happens once: the same size before and after means a and b read one set. The
          // old set holds oldOnly and not n-5999; the new one the reverse.
          if (before.total === after.total) seenOld.add(`${a !== null}/${b !== null}`);
          polls += 1;
        }
      })();
      const result = await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, fresh, {
        reset: true,
      });
      done = true;
      await watching;

      expect(result).toEqual({ applied: 6000, total: 6000 });
      // The reader polled while the chunks were being written, not only before and after.
      expect(polls).toBeGreaterThanOrEqual(3);
      expect(
        [...seen].every((total) => total === old.length || total === fresh.length),
        [...seen].join(","),
      ).toBe(true);
      expect(
        [...seenOld].every((state) => state === "true/false" || state === "false/true"),
        [...seenOld].join(","),
      ).toBe(true);

      expect(await everything(reader, bp)).toEqual(strip(sortRows(fresh)));
      expect(
        await rankFromRedis(reader, prefix, bp.boardId, bp.periodKey, oldOnly.playerId),
      ).toBeNull();
      expect(await redis.hlen(keys.m)).toBe(6000);
      // The build TTL must not survive the swap, and no build keys are left behind.
      expect(await redis.pttl(keys.z)).toBe(-1);
      expect(await redis.pttl(keys.m)).toBe(-1);
      expect(await redis.keys(`${keys.z}:tmp:*`)).toEqual([]);
      expect(await redis.keys(`${keys.m}:tmp:*`)).toEqual([]);

      // Later projections keep working against the rebuilt hash (versions came along).
      expect(
        (
          await applyToRedis(redis, prefix, [
            { ...bp, playerId: "n-0000", version: 1, sortScore: -1, reachedAt: t },
          ])
        ).applied,
      ).toBe(0);
      expect(
        (
          await applyToRedis(redis, prefix, [
            { ...bp, playerId: "n-0000", version: 2, sortScore: -1, reachedAt: t },
          ])
        ).applied,
      ).toBe(1);
      expect(await rankFromRedis(reader, prefix, bp.boardId, bp.periodKey, "n-0000")).toEqual({
        rank: 1,
        sortScore: -1,
        reachedAt: t,
        total: 6000,
      });
    });

    it("reset marks a board-period projections wrote only in part as loaded; with no rows it is empty", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
      const rows = randomBoard(42, 20).finals;
      await seed(redis, bp, rows.slice(0, 5), false);
      await expect(
        rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, (rows[0] as Row).playerId),
      ).rejects.toThrow(RedisNotReadyError);
      expect(
        await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, rows, { reset: true }),
      ).toEqual({ applied: 20, total: 20 });
      expect(await everything(redis, bp)).toEqual(strip(sortRows(rows)));
      expect(
        await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, [], { reset: true }),
      ).toEqual({ applied: 0, total: 0 });
      expect(await redis.exists(keys.z, keys.m)).toBe(0);
      expect(await everything(redis, bp)).toEqual([]);
    });

    it("merge (no reset) applies only newer versions and keeps players absent from the rows", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
      await seed(redis, bp, [
        { playerId: "kept", version: 1, sortScore: 5, reachedAt: t },
        { playerId: "newer", version: 3, sortScore: 5, reachedAt: t },
        { playerId: "older", version: 1, sortScore: 5, reachedAt: t },
      ]);
      const result = await replaceBoardPeriod(
        redis,
        prefix,
        bp.boardId,
        bp.periodKey,
        [
          { playerId: "newer", version: 2, sortScore: -9, reachedAt: t },
          { playerId: "older", version: 2, sortScore: -8, reachedAt: t },
          { playerId: "added", version: 1, sortScore: 0, reachedAt: t },
        ],
        { reset: false },
      );
      expect(result).toEqual({ applied: 2, total: null });
      expect(strip(await everything(redis, bp))).toEqual([
        { playerId: "older", sortScore: -8, reachedAt: t, version: 0 },
        { playerId: "added", sortScore: 0, reachedAt: t, version: 0 },
        { playerId: "kept", sortScore: 5, reachedAt: t, version: 0 },
        { playerId: "newer", sortScore: 5, reachedAt: t, version: 0 },
      ]);
      const before = await snapshot(redis, keys);
      // Merging the same rows again is a no-op.
      await replaceBoardPeriod(
        redis,
        prefix,
        bp.boardId,
        bp.periodKey,
        [{ playerId: "older", version: 2, sortScore: -8, reachedAt: t }],
        {
          reset: false,
        },
      );
      expect(await snapshot(redis, keys)).toEqual(before);
    });

    it("merges more than one chunk", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      await markLoaded(redis, prefix, bp);
      const rows = randomBoard(43, 2300).finals;
      expect(
        await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, rows, { reset: false }),
      ).toEqual({
        applied: rows.length,
        total: null,
      });
      expect(await everything(redis, bp)).toEqual(strip(sortRows(rows)));
    });
  },
);
