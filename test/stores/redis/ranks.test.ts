import type { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { boardPeriodKey } from "../../../src/domain/board-period-key";
import { openDatabase } from "../../../src/stores/postgres/client";
import {
  aroundFromPostgres,
  countFromPostgres,
  pageFromPostgres,
  playerRankFromPostgres,
  rankForScoreFromPostgres,
} from "../../../src/stores/postgres/ranks";
import { rankKeys } from "../../../src/stores/redis/keys";
import {
  APPLY_MAX_RECORDS,
  applyToRedis,
  aroundFromRedis,
  countFromRedis,
  pageAfter,
  pageFromRedis,
  RedisNotReadyError,
  type RedisRankChange,
  type RedisRankCursor,
  type RedisRankEntry,
  rankForScoreFromRedis,
  rankFromRedis,
  ranksFromRedis,
  replaceBoardPeriod,
} from "../../../src/stores/redis/ranks";
import { PIPELINE_MAX_BYTES, PIPELINE_MAX_COMMANDS } from "../../../src/stores/redis/script";
import { makeRandom } from "../../domain/prng";
import { createBoard, query, testEnv, uniqueId } from "../../helpers/factories";
import { watchUpstash } from "../../helpers/upstash-watch";
import {
  batches,
  compareRows,
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
const MAX = Number.MAX_SAFE_INTEGER;

/** A board id and period key no other test (or run) uses. */
function boardPeriod(): { boardId: string; periodKey: string } {
  const bp = { boardId: uniqueId("rb"), periodKey: "2026-11-22" };
  written.track(bp.boardId, bp.periodKey);
  return bp;
}

function changes(
  bp: { boardId: string; periodKey: string },
  rows: readonly Row[],
): RedisRankChange[] {
  return rows.map((row) => ({ ...bp, ...row }));
}

/** Every record of the board-period, delivered in messy batches; then it counts as loaded whole. */
async function deliver(
  redis: Redis,
  bp: { boardId: string; periodKey: string },
  rows: readonly Row[],
  seed: number,
): Promise<number> {
  let applied = 0;
  for (const batch of batches(rows, seed))
    applied += (await applyToRedis(redis, prefix, changes(bp, batch))).applied;
  await markLoaded(redis, prefix, bp);
  return applied;
}

/** The reference entries of ref[from, to) with their 1-based ranks. */
function expected(ref: readonly Row[], from: number, to: number): RedisRankEntry[] {
  return ref.slice(Math.max(0, from), to).map((row, k) => ({
    rank: Math.max(0, from) + k + 1,
    playerId: row.playerId,
    sortScore: row.sortScore,
    reachedAt: row.reachedAt,
  }));
}

/**
 * Runs the calls concurrently in groups (the client auto-pipelines each group into one request).
 */
async function inGroups<T, R>(
  items: readonly T[],
  run: (item: T) => Promise<R>,
  size = 50,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return out;
}

describe.skipIf(!testEnv.UPSTASH_REDIS_REST_URL)(
  "redis rank store (needs Redis: set REDIS_URL)",
  () => {
    afterAll(() => written.clear(testRedis()));

    it.each([
      [1, 300],
      [2, 450],
    ])(
      "agrees with the brute-force reference on every rank, page, window and score (seed %i, %i players)",
      async (seed, n) => {
        const redis = testRedis();
        const bp = boardPeriod();
        const { finals, deliveries } = randomBoard(seed, n);
        await deliver(redis, bp, deliveries, seed);
        const ref = sortRows(finals);
        const total = ref.length;

        expect(await countFromRedis(redis, prefix, bp.boardId, bp.periodKey)).toBe(total);

        const ranks = await inGroups(ref, (row) =>
          rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, row.playerId),
        );
        ranks.forEach((rank, i) => {
          const row = ref[i] as Row;
          expect(rank, row.playerId).toEqual({
            rank: i + 1,
            sortScore: row.sortScore,
            reachedAt: row.reachedAt,
            total,
          });
        });
        expect(
          await rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "nobody-here"),
        ).toBeNull();

        for (const limit of [1, 37, 1000]) {
          const offsets = Array.from({ length: Math.ceil(total / limit) }, (_, k) => k * limit);
          const pages = await inGroups(offsets, (offset) =>
            pageFromRedis(redis, prefix, bp.boardId, bp.periodKey, { offset, limit }),
          );
          pages.forEach((page, k) => {
            const offset = offsets[k] as number;
            expect(page).toEqual({ entries: expected(ref, offset, offset + limit), total });
          });
        }
        expect(
          await pageFromRedis(redis, prefix, bp.boardId, bp.periodKey, {
            offset: total,
            limit: 10,
          }),
        ).toEqual({ entries: [], total });

        const edges = [0, 1, 2, Math.floor(total / 2), total - 3, total - 2, total - 1];
        for (const i of edges) {
          const row = ref[i] as Row;
          for (const w of [0, 1, 3, 10]) {
            const around = await aroundFromRedis(
              redis,
              prefix,
              bp.boardId,
              bp.periodKey,
              row.playerId,
              w,
            );
            expect(around, `${row.playerId} ±${w}`).toEqual({
              rank: i + 1,
              total,
              entries: expected(ref, i - w, i + w + 1),
            });
          }
        }
        expect(
          await aroundFromRedis(redis, prefix, bp.boardId, bp.periodKey, "nobody-here", 3),
        ).toBeNull();

        const scores = new Set<number>([-MAX, MAX, 0]);
        for (const row of ref)
          for (const d of [-1, 0, 1]) scores.add(Math.max(-MAX, Math.min(MAX, row.sortScore + d)));
        const probes = [...scores];
        const forScore = await inGroups(probes, (s) =>
          rankForScoreFromRedis(redis, prefix, bp.boardId, bp.periodKey, s),
        );
        forScore.forEach((result, k) => {
          const s = probes[k] as number;
          expect(result, `score ${s}`).toEqual({
            rank: ref.filter((r) => r.sortScore <= s).length + 1,
            total,
          });
        });
      },
    );

    it("refuses every read of a board-period it does not hold whole, until a reload marks it ready", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const { boardId, periodKey } = bp;
      const cursor = { sortScore: 0, reachedAt: 0, playerId: "p1" };
      // Thunks, started one at a time: a promise rejecting before it is awaited is an unhandled
      // rejection.
      const everyRead: Array<() => Promise<unknown>> = [
        () => rankFromRedis(redis, prefix, boardId, periodKey, "p1"),
        () => ranksFromRedis(redis, prefix, boardId, periodKey, ["p1", "p2"]),
        () => aroundFromRedis(redis, prefix, boardId, periodKey, "p1", 2),
        () => pageFromRedis(redis, prefix, boardId, periodKey, { offset: 0, limit: 10 }),
        () => pageAfter(redis, prefix, boardId, periodKey, cursor, 10),
        () => rankForScoreFromRedis(redis, prefix, boardId, periodKey, 5),
      ];
      // Never seen: nothing to answer from.
      for (const read of everyRead) await expect(read()).rejects.toThrow(RedisNotReadyError);
      // Written by projections only (Redis configured late, or keys lost and written again): the
      // keys hold part of the board-period, and a rank from them would be wrong, so still refused.
      const t = Date.UTC(2026, 10, 22);
      expect(
        (
          await applyToRedis(
            redis,
            prefix,
            changes(bp, [{ playerId: "p1", version: 3, sortScore: -9, reachedAt: t }]),
          )
        ).applied,
      ).toBe(1);
      expect(await countFromRedis(redis, prefix, boardId, periodKey)).toBe(1);
      for (const read of everyRead) await expect(read()).rejects.toThrow(RedisNotReadyError);
      // Loaded whole (here: the board-period is empty in Postgres): answers, and they are empty.
      expect(
        await replaceBoardPeriod(redis, prefix, boardId, periodKey, [], { reset: true }),
      ).toEqual({ applied: 0, total: 0 });
      expect(await rankFromRedis(redis, prefix, boardId, periodKey, "p1")).toBeNull();
      expect(await ranksFromRedis(redis, prefix, boardId, periodKey, ["p1", "p2"])).toEqual([
        null,
        null,
      ]);
      expect(await aroundFromRedis(redis, prefix, boardId, periodKey, "p1", 2)).toBeNull();
      expect(
        await pageFromRedis(redis, prefix, boardId, periodKey, { offset: 0, limit: 10 }),
      ).toEqual({ entries: [], total: 0 });
      expect(await pageAfter(redis, prefix, boardId, periodKey, cursor, 10)).toEqual({
        entries: [],
        total: 0,
      });
      expect(await rankForScoreFromRedis(redis, prefix, boardId, periodKey, 5)).toEqual({
        rank: 1,
        total: 0,
      });
      // Projections keep applying to a ready board-period, and reads see them.
      expect(
        (
          await applyToRedis(
            redis,
            prefix,
            changes(bp, [{ playerId: "p2", version: 1, sortScore: 4, reachedAt: t }]),
          )
        ).applied,
      ).toBe(1);
      expect(await rankFromRedis(redis, prefix, boardId, periodKey, "p2")).toEqual({
        rank: 1,
        sortScore: 4,
        reachedAt: t,
        total: 1,
      });
      expect((await applyToRedis(redis, prefix, [])).applied).toBe(0);
    });

    it("refuses ready keys whose marker trails the reader's watermark, or whose ZSET and HASH disagree", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const { boardId, periodKey } = bp;
      const t = Date.UTC(2026, 10, 22);
      const rows = [
        { playerId: "p1", version: 1, sortScore: -9, reachedAt: t },
        { playerId: "p2", version: 1, sortScore: -5, reachedAt: t + 1 },
      ];
      await replaceBoardPeriod(redis, prefix, boardId, periodKey, rows, { reset: true });
      const keys = rankKeys(prefix, boardId, periodKey);
      const marker = 1_700_000_000_000;
      await redis.set(keys.ready, String(marker));
      const reads = (minWatermark: number): Array<() => Promise<unknown>> => [
        () => rankFromRedis(redis, prefix, boardId, periodKey, "p1", { minWatermark }),
        () => ranksFromRedis(redis, prefix, boardId, periodKey, ["p1"], { minWatermark }),
        () => aroundFromRedis(redis, prefix, boardId, periodKey, "p1", 1, { minWatermark }),
        () =>
          pageFromRedis(
            redis,
            prefix,
            boardId,
            periodKey,
            { offset: 0, limit: 5 },
            { minWatermark },
          ),
        () => rankForScoreFromRedis(redis, prefix, boardId, periodKey, 5, { minWatermark }),
      ];
      // A marker at the reader's watermark is enough; one millisecond short is not.
      const atMarker = { rank: 1, sortScore: -9, reachedAt: t, total: 2 };
      expect(
        await rankFromRedis(redis, prefix, boardId, periodKey, "p1", { minWatermark: marker }),
      ).toEqual(atMarker);
      for (const read of reads(marker + 1))
        await expect(read()).rejects.toThrow(RedisNotReadyError);
      for (const read of reads(marker)) await expect(read()).resolves.toBeDefined();

      // One entry of the HASH lost (evicted): the counts differ, so every read refuses.
      await redis.hdel(keys.m, "p2");
      for (const read of reads(0)) await expect(read()).rejects.toThrow(RedisNotReadyError);
      // The same when the ZSET is the one that lost it.
      await replaceBoardPeriod(redis, prefix, boardId, periodKey, rows, { reset: true });
      expect(await rankFromRedis(redis, prefix, boardId, periodKey, "p2")).toMatchObject({
        rank: 2,
        total: 2,
      });
      const member = await redis.zrange<string[]>(keys.z, 1, 1);
      await redis.zrem(keys.z, member[0] ?? "");
      for (const read of reads(0)) await expect(read()).rejects.toThrow(RedisNotReadyError);
    });

    it("moves the ready marker up to a batch's time, never back for an older batch", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const t = Date.UTC(2026, 10, 22);
      await replaceBoardPeriod(
        redis,
        prefix,
        bp.boardId,
        bp.periodKey,
        [{ playerId: "w1", version: 1, sortScore: -9, reachedAt: t }],
        { reset: true },
      );
      const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
      const marker = 1_700_000_000_000;
      await redis.set(keys.ready, String(marker));
      const apply = (playerId: string, writtenAt: number) =>
        applyToRedis(
          redis,
          prefix,
          [{ ...bp, playerId, sortScore: -1, reachedAt: t, version: 1, expiresAt: null }],
          {
            watermarks: new Map([
              [boardPeriodKey(bp.boardId, bp.periodKey), { writtenAt, expectedAt: 0 }],
            ]),
          },
        );
      // An older batch's projection lands after the marker moved on: it applies, the marker holds.
      expect(await apply("w2", marker - 5_000)).toEqual({ applied: 1, behind: [] });
      expect(Number(await redis.get(keys.ready))).toBe(marker);
      expect(
        await rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "w1", {
          minWatermark: marker,
        }),
      ).toMatchObject({ rank: 1, total: 2 });
      // A newer one moves it up.
      expect(await apply("w3", marker + 5_000)).toEqual({ applied: 1, behind: [] });
      expect(Number(await redis.get(keys.ready))).toBe(marker + 5_000);
    });

    /**
     * The same final rows in Postgres `scores` (a real board) and, through messy deliveries, in
     * Redis.
     */
    async function seedBoth(sortOrder: "desc" | "asc", seed: number) {
      const redis = testRedis();
      const boardId = await createBoard({ sortOrder });
      const periodKey = "all";
      written.track(boardId, periodKey);
      const { finals, deliveries } = randomBoard(seed, 300);
      const scoreOf = (sortScore: number) => (sortOrder === "desc" ? 0 - sortScore : sortScore);
      await query(sql`
      insert into scores (board_id, period_key, player_id, score, sort_score, reached_at, version)
      values ${sql.join(
        finals.map(
          (r) =>
            sql`(${boardId}, ${periodKey}, ${r.playerId}, ${scoreOf(r.sortScore)}, ${r.sortScore}, ${new Date(r.reachedAt).toISOString()}::timestamptz, ${r.version})`,
        ),
        sql`, `,
      )}`);
      await deliver(redis, { boardId, periodKey }, deliveries, seed);
      return { redis, boardId, periodKey, finals, scoreOf };
    }

    it.each(["desc", "asc"] as const)(
      "agrees with Postgres on every player's rank (%s board)",
      async (sortOrder) => {
        const { redis, boardId, periodKey, finals, scoreOf } = await seedBoth(
          sortOrder,
          sortOrder === "desc" ? 11 : 12,
        );
        const handle = openDatabase(testEnv, { maxConnections: 1 });
        try {
          for (const { playerId } of finals) {
            const pg = await playerRankFromPostgres(handle.db, boardId, periodKey, playerId);
            const rd = await rankFromRedis(redis, prefix, boardId, periodKey, playerId);
            expect(pg, playerId).not.toBeNull();
            expect(rd, playerId).not.toBeNull();
            if (!pg || !rd) continue;
            expect(
              {
                rank: rd.rank,
                total: rd.total,
                score: scoreOf(rd.sortScore),
                reachedAt: new Date(rd.reachedAt).toISOString(),
              },
              playerId,
            ).toEqual({ rank: pg.rank, total: pg.total, score: pg.score, reachedAt: pg.reachedAt });
          }
        } finally {
          await handle.close();
        }
      },
    );

    it.each(["desc", "asc"] as const)(
      "agrees with Postgres on keyset pages, windows and rank-for-score (%s board)",
      async (sortOrder) => {
        const { redis, boardId, periodKey, finals } = await seedBoth(
          sortOrder,
          sortOrder === "desc" ? 13 : 14,
        );
        const same = (
          rows: ReadonlyArray<{
            rank: number;
            playerId: string;
            sortScore: number;
            reachedAt: string | number;
          }>,
        ) =>
          rows.map((r) => ({
            rank: r.rank,
            playerId: r.playerId,
            sortScore: r.sortScore,
            reachedAt: new Date(r.reachedAt).toISOString(),
          }));
        const handle = openDatabase(testEnv, { maxConnections: 1 });
        try {
          let cursor: RedisRankEntry | undefined;
          for (;;) {
            const pg = await pageFromPostgres(handle.db, boardId, periodKey, {
              limit: 40,
              after: cursor && {
                sortScore: cursor.sortScore,
                reachedAt: new Date(cursor.reachedAt).toISOString(),
                playerId: cursor.playerId,
              },
            });
            const rd = cursor
              ? await pageAfter(redis, prefix, boardId, periodKey, cursor, 40)
              : await pageFromRedis(redis, prefix, boardId, periodKey, { offset: 0, limit: 40 });
            expect(same(rd.entries)).toEqual(same(pg));
            cursor = rd.entries[rd.entries.length - 1];
            if (!cursor) break;
          }
          const ref = sortRows(finals);
          for (const i of [0, 1, 150, ref.length - 2, ref.length - 1]) {
            const { playerId } = ref[i] as Row;
            const pg = await aroundFromPostgres(handle.db, boardId, periodKey, playerId, 3);
            const rd = await aroundFromRedis(redis, prefix, boardId, periodKey, playerId, 3);
            expect(rd && same(rd.entries), playerId).toEqual(pg && same(pg));
          }
          for (const s of [-MAX, -3, 0, 2, 4, MAX]) {
            const rd = await rankForScoreFromRedis(redis, prefix, boardId, periodKey, s);
            expect(rd.rank, `score ${s}`).toBe(
              await rankForScoreFromPostgres(handle.db, boardId, periodKey, s),
            );
            expect(rd.total).toBe(await countFromPostgres(handle.db, boardId, periodKey));
          }
        } finally {
          await handle.close();
        }
      },
    );

    it("splits a large projection into capped calls and pipelines, moving the marker only after the last", async () => {
      const redis = testRedis();
      const tag = uniqueId("cap");
      // One board-period of 1,300 records (3 calls of at most APPLY_MAX_RECORDS) and 150 of one
      // record each: 153 calls, so two pipelines of at most 100.
      const big = { boardId: `${tag}-big`, periodKey: "2026-11-22" };
      written.track(big.boardId, big.periodKey);
      const small = Array.from({ length: 150 }, (_, i) => {
        const bp = { boardId: `${tag}-s${i}`, periodKey: "2026-11-22" };
        written.track(bp.boardId, bp.periodKey);
        return bp;
      });
      const t = Date.UTC(2026, 10, 22);
      const rows = Array.from({ length: 1_300 }, (_, i) => ({
        playerId: `p${i}`,
        version: 1,
        sortScore: -i,
        reachedAt: t + i,
      }));
      await replaceBoardPeriod(redis, prefix, big.boardId, big.periodKey, [], { reset: true });
      await markLoaded(redis, prefix, big);
      const marker = await redis.get<string>(rankKeys(prefix, big.boardId, big.periodKey).ready);
      const writtenAt = Number(marker) + 5_000;
      const all = [...changes(big, rows), ...small.flatMap((bp) => changes(bp, [rows[0] as Row]))];
      // Warm the script cache: the local bridge answers a script's first EVALSHA with NOSCRIPT.
      await applyToRedis(redis, prefix, changes(small[0] as typeof big, [rows[0] as Row]));
      const watch = await watchUpstash(tag);
      try {
        const result = await applyToRedis(redis, prefix, all, {
          watermarks: new Map([
            [boardPeriodKey(big.boardId, big.periodKey), { writtenAt, expectedAt: 0 }],
          ]),
        });
        expect(result).toEqual({ applied: 1_300 + 149, behind: [] });
        const counts = await watch.read();
        expect(counts.requests).toBe(2);
        expect(counts.commands).toBe(Math.ceil(1_300 / APPLY_MAX_RECORDS) + 150);
        expect(counts.maxCommandsPerRequest).toBe(PIPELINE_MAX_COMMANDS);
        expect(counts.maxRequestBytes).toBeLessThanOrEqual(PIPELINE_MAX_BYTES);
        expect(counts.scriptsWithoutKeyLocking).toBe(0);
      } finally {
        await watch.stop();
      }
      expect(await countFromRedis(redis, prefix, big.boardId, big.periodKey)).toBe(1_300);
      expect(
        await rankFromRedis(redis, prefix, big.boardId, big.periodKey, "p0", {
          minWatermark: writtenAt,
        }),
      ).toMatchObject({ rank: 1300, total: 1300 });
    });

    it("is idempotent: repeats, whole-batch replays and stale versions change nothing", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
      const { finals, deliveries, stale } = randomBoard(21, 250);
      const applied = await deliver(redis, bp, deliveries, 21);
      // Every player's last version applies at least once; repeats never do twice.
      expect(applied).toBeGreaterThanOrEqual(finals.length);
      const before = await snapshot(redis, keys);
      expect(before.z).toHaveLength(2 * finals.length);

      expect((await applyToRedis(redis, prefix, changes(bp, finals))).applied).toBe(0);
      expect((await applyToRedis(redis, prefix, changes(bp, stale))).applied).toBe(0);
      expect(await deliver(redis, bp, deliveries, 22)).toBe(0);
      expect(await snapshot(redis, keys)).toEqual(before);
    });

    it("applies by version, not by score (latest/increment boards), and moves a player's member", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      await markLoaded(redis, prefix, bp);
      const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
      const t = Date.UTC(2026, 10, 22);
      const v1 = { playerId: "p1", version: 1, sortScore: -1000, reachedAt: t };
      const v2 = { playerId: "p1", version: 2, sortScore: 7, reachedAt: t + 5 };
      const v3 = { playerId: "p1", version: 3, sortScore: 7, reachedAt: t + 9 };
      // Newer first in the same call, then the older one again: the newest version wins either way.
      expect((await applyToRedis(redis, prefix, changes(bp, [v2, v1]))).applied).toBe(1);
      expect(await rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "p1")).toEqual({
        rank: 1,
        sortScore: 7,
        reachedAt: t + 5,
        total: 1,
      });
      expect((await applyToRedis(redis, prefix, changes(bp, [v3, v1, v2]))).applied).toBe(1);
      expect(await rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "p1")).toEqual({
        rank: 1,
        sortScore: 7,
        reachedAt: t + 9,
        total: 1,
      });
      expect(await redis.zcard(keys.z)).toBe(1);
      expect(await redis.hlen(keys.m)).toBe(1);

      // Versions compare exactly up to 2^53 - 1.
      const big = { ...v3, version: MAX - 1, sortScore: 1 };
      expect((await applyToRedis(redis, prefix, changes(bp, [big]))).applied).toBe(1);
      expect(
        (
          await applyToRedis(
            redis,
            prefix,
            changes(bp, [{ ...big, version: MAX - 2, sortScore: 2 }]),
          )
        ).applied,
      ).toBe(0);
      expect(
        (await applyToRedis(redis, prefix, changes(bp, [{ ...big, version: MAX, sortScore: 3 }])))
          .applied,
      ).toBe(1);
      expect((await rankFromRedis(redis, prefix, bp.boardId, bp.periodKey, "p1"))?.sortScore).toBe(
        3,
      );
    });

    it("walks keyset pages with no gaps or repeats, from any cursor, present or not", async () => {
      const redis = testRedis();
      const bp = boardPeriod();
      const { finals, deliveries } = randomBoard(31, 350);
      await deliver(redis, bp, deliveries, 31);
      const ref = sortRows(finals);

      for (const limit of [1, 7, 50]) {
        const walked: RedisRankEntry[] = [];
        let page = await pageFromRedis(redis, prefix, bp.boardId, bp.periodKey, {
          offset: 0,
          limit,
        });
        while (page.entries.length > 0) {
          // A cursor that does not advance would loop forever: fail fast instead.
          if (walked.length > ref.length) throw new Error(`walk with limit ${limit} repeats rows`);
          walked.push(...page.entries);
          const last = page.entries[page.entries.length - 1] as RedisRankEntry;
          page = await pageAfter(redis, prefix, bp.boardId, bp.periodKey, last, limit);
        }
        expect(walked).toEqual(expected(ref, 0, ref.length));
        expect(new Set(walked.map((e) => e.playerId)).size).toBe(ref.length);
      }

      // Cursors that match no entry (a player who moved, or a forged position) start right after
      // where that position would sort.
      const rnd = makeRandom(32);
      const cursors: RedisRankCursor[] = [
        { sortScore: -MAX, reachedAt: 0, playerId: "-" },
        { sortScore: MAX, reachedAt: 9_999_999_999_999, playerId: "||||" },
      ];
      for (let i = 0; i < 300; i += 1) {
        const near = rnd.pick(ref);
        cursors.push({
          sortScore:
            rnd.next() < 0.8
              ? near.sortScore
              : Math.max(-MAX, Math.min(MAX, near.sortScore + rnd.pick([-1, 1]))),
          reachedAt: rnd.next() < 0.7 ? near.reachedAt : near.reachedAt + rnd.pick([-1, 1]),
          playerId:
            rnd.next() < 0.5
              ? near.playerId
              : rnd.pick([`${near.playerId}-`, `${near.playerId}`.slice(0, -1) || "0", "zz", "A"]),
        });
      }
      const limit = 13;
      const pages = await inGroups(cursors, (cursor) =>
        pageAfter(redis, prefix, bp.boardId, bp.periodKey, cursor, limit),
      );
      pages.forEach((page, k) => {
        const cursor = cursors[k] as RedisRankCursor;
        const first = ref.findIndex((row) => compareRows(row, { ...cursor, version: 0 }) > 0);
        const from = first === -1 ? ref.length : first;
        expect(page, JSON.stringify(cursor)).toEqual({
          entries: expected(ref, from, from + limit),
          total: ref.length,
        });
      });
    });

    it("falls back to EVAL when Redis has forgotten the scripts, for pipelined and single calls", async () => {
      const redis = testRedis();
      const a = boardPeriod();
      const b = boardPeriod();
      await Promise.all([markLoaded(redis, prefix, a), markLoaded(redis, prefix, b)]);
      const t = Date.UTC(2026, 10, 22);
      await redis.scriptFlush();
      // Two board-periods in one call: one pipeline, two EVALSHAs, both answered NOSCRIPT.
      const applied = (
        await applyToRedis(redis, prefix, [
          { ...a, playerId: "p1", version: 1, sortScore: -5, reachedAt: t },
          { ...a, playerId: "p2", version: 1, sortScore: -9, reachedAt: t },
          { ...b, playerId: "p1", version: 1, sortScore: 3, reachedAt: t },
        ])
      ).applied;
      expect(applied).toBe(3);
      await redis.scriptFlush();
      expect(await rankFromRedis(redis, prefix, a.boardId, a.periodKey, "p1")).toEqual({
        rank: 2,
        sortScore: -5,
        reachedAt: t,
        total: 2,
      });
      expect(await rankFromRedis(redis, prefix, b.boardId, b.periodKey, "p1")).toEqual({
        rank: 1,
        sortScore: 3,
        reachedAt: t,
        total: 1,
      });
    });
  },
);
