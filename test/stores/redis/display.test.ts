import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { chunkRecords, recordArgs } from "../../../src/stores/redis/args";
import { rankKeys } from "../../../src/stores/redis/keys";
import {
  applyToRedis,
  aroundFromRedis,
  pageAfter,
  pageFromRedis,
  type RedisRankChange,
  ranksFromRedis,
  replaceBoardPeriod,
  startBoardPeriodLoad,
} from "../../../src/stores/redis/ranks";
import { testEnv, uniqueId } from "../../helpers/factories";
import { keyTracker, markLoaded, testRedis } from "./fixtures";

const hasRedis = Boolean((env as typeof testEnv).UPSTASH_REDIS_REST_URL);
const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const T = Date.UTC(2026, 10, 22, 12);

function boardPeriod() {
  const bp = { boardId: uniqueId("rd"), periodKey: "2026-11-22" };
  written.track(bp.boardId, bp.periodKey);
  return bp;
}

/** Players p1..pn, p1 best; odd players named, every third with metadata. */
function rows(bp: { boardId: string; periodKey: string }, n: number): RedisRankChange[] {
  return Array.from({ length: n }, (_, i) => ({
    ...bp,
    playerId: `p${i + 1}`,
    sortScore: i,
    reachedAt: T + i,
    version: 1,
    ...(i % 2 === 0 ? { displayName: `Name ${i + 1}` } : {}),
    ...(i % 3 === 0 ? { metadata: { level: i + 1, tag: "x" } } : {}),
  }));
}

const shown = (e: { playerId: string; displayName?: string; metadata?: unknown }) => [
  e.playerId,
  e.displayName ?? null,
  e.metadata ?? null,
];

/**
 * Display names and metadata live next to the ranks (a HASH per board-period in the same slot),
 * so every Redis read answers them in its one script call and no read needs Postgres for names.
 */
describe.skipIf(!hasRedis)("Redis rank store: display fields (needs REDIS_URL)", () => {
  const redis = hasRedis ? testRedis() : (undefined as never);
  afterAll(() => written.clear(redis));

  it("page, keyset page, around and ranks all carry the record's name and metadata", async () => {
    const bp = boardPeriod();
    await applyToRedis(redis, prefix, rows(bp, 7));
    await markLoaded(redis, prefix, bp);
    const page = await pageFromRedis(redis, prefix, bp.boardId, bp.periodKey, {
      offset: 0,
      limit: 4,
    });
    expect(page.entries.map(shown)).toEqual([
      ["p1", "Name 1", { level: 1, tag: "x" }],
      ["p2", null, null],
      ["p3", "Name 3", null],
      ["p4", null, { level: 4, tag: "x" }],
    ]);
    const after = await pageAfter(
      redis,
      prefix,
      bp.boardId,
      bp.periodKey,
      { sortScore: 3, reachedAt: T + 3, playerId: "p4" },
      2,
    );
    expect(after.entries.map(shown)).toEqual([
      ["p5", "Name 5", null],
      ["p6", null, null],
    ]);
    const around = await aroundFromRedis(redis, prefix, bp.boardId, bp.periodKey, "p7", 1);
    expect(around?.entries.map(shown)).toEqual([
      ["p6", null, null],
      ["p7", "Name 7", { level: 7, tag: "x" }],
    ]);
    const ranks = await ranksFromRedis(redis, prefix, bp.boardId, bp.periodKey, [
      "p3",
      "nobody",
      "p4",
    ]);
    expect(ranks.map((r) => r && [r.rank, r.displayName ?? null, r.metadata ?? null])).toEqual([
      [3, "Name 3", null],
      null,
      [4, null, { level: 4, tag: "x" }],
    ]);
  });

  it("a newer version replaces or removes the fields; an older one changes nothing", async () => {
    const bp = boardPeriod();
    const [first] = rows(bp, 1) as [RedisRankChange];
    await applyToRedis(redis, prefix, [first]);
    await markLoaded(redis, prefix, bp);
    await applyToRedis(redis, prefix, [
      { ...first, version: 2, displayName: "Renamed", metadata: null },
    ]);
    const read = async () =>
      (await ranksFromRedis(redis, prefix, bp.boardId, bp.periodKey, ["p1"]))[0];
    expect(await read()).toMatchObject({ displayName: "Renamed" });
    expect((await read())?.metadata).toBeUndefined();
    await applyToRedis(redis, prefix, [{ ...first, version: 1, displayName: "Stale" }]);
    expect((await read())?.displayName).toBe("Renamed");
    await applyToRedis(redis, prefix, [
      { ...first, version: 3, displayName: null, metadata: null },
    ]);
    expect((await read())?.displayName).toBeUndefined();
    expect(await redis.hlen(rankKeys(prefix, bp.boardId, bp.periodKey).d)).toBe(0);
  });

  it("expires with the board-period's other keys", async () => {
    const bp = boardPeriod();
    const expiresAt = Date.now() + 3_600_000;
    await applyToRedis(
      redis,
      prefix,
      rows(bp, 3).map((r) => ({ ...r, expiresAt })),
    );
    const ttl = await redis.pttl(rankKeys(prefix, bp.boardId, bp.periodKey).d);
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });

  it("a reload swaps the fields in with the ranks; a reload without any drops the old ones", async () => {
    const bp = boardPeriod();
    const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
    await applyToRedis(redis, prefix, rows(bp, 5));
    // The reload's rows: p1 now unnamed, p2 named.
    const reloaded = rows(bp, 5).map((r, i) => ({
      ...r,
      version: 2,
      displayName: i === 1 ? "Two" : undefined,
      metadata: undefined,
    }));
    await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, reloaded, { reset: true });
    // The worker's client does not deserialise: HGETALL comes back as a flat list.
    expect(await redis.hgetall(keys.d)).toEqual(["p2", JSON.stringify({ n: "Two" })]);
    const bare = reloaded.map((r) => ({ ...r, version: 3, displayName: undefined }));
    await replaceBoardPeriod(redis, prefix, bp.boardId, bp.periodKey, bare, { reset: true });
    expect(await redis.exists(keys.d)).toBe(0);
    await applyToRedis(
      redis,
      prefix,
      rows(bp, 2).map((r) => ({ ...r, version: 4 })),
    );
    expect(await redis.hlen(keys.d)).toBe(1);
    // An empty reload (commit of nothing) clears them too.
    await startBoardPeriodLoad(redis, prefix, bp.boardId, bp.periodKey).commit(Date.now(), 0);
    expect(await redis.exists(keys.d)).toBe(0);
  });

  it("records with large fields go in calls held under the byte bound, every one applied", async () => {
    const bp = boardPeriod();
    const big = { note: "y".repeat(400) };
    const many = rows(bp, 600).map((r) => ({ ...r, displayName: `N${r.playerId}`, metadata: big }));
    const result = await applyToRedis(redis, prefix, many);
    expect(result.applied).toBe(600);
    expect(await redis.hlen(rankKeys(prefix, bp.boardId, bp.periodKey).d)).toBe(600);
  });
});

describe("chunkRecords", () => {
  const record = (bytes: number) => recordArgs("p", 1, 0, T, { displayName: "x".repeat(bytes) });
  it("cuts at the record count or the byte bound, whichever comes first, never splitting a record", () => {
    expect(chunkRecords([record(1), record(1), record(1)], 2, 10_000).map((c) => c.length)).toEqual(
      [10, 5],
    );
    const chunks = chunkRecords(
      Array.from({ length: 10 }, () => record(100)),
      100,
      350,
    );
    expect(chunks.length).toBe(5);
    for (const chunk of chunks) expect(chunk.length % 5).toBe(0);
    // A record larger than the bound still goes, alone.
    expect(chunkRecords([record(1000), record(1)], 100, 50).map((c) => c.length)).toEqual([5, 5]);
  });
});
