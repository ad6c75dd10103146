import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { rankKeys } from "../../../src/stores/redis/keys";
import { applyToRedis, pageFromRedis, ranksFromRedis } from "../../../src/stores/redis/ranks";
import { removeFromRedis } from "../../../src/stores/redis/remove";
import { testEnv, uniqueId } from "../../helpers/factories";
import { keyTracker, markLoaded, testRedis } from "./fixtures";

const hasRedis = Boolean((env as typeof testEnv).UPSTASH_REDIS_REST_URL);
const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);

/** A moderator's removal in Redis: version-bounded, both HASHes with the ZSET, marker kept. */
describe.skipIf(!hasRedis)("removeFromRedis (needs REDIS_URL)", () => {
  afterAll(async () => {
    if (hasRedis) await written.clear(testRedis());
  });

  it("removes up to a version, keeps newer records, ZCARD == HLEN, the keys stay ready", async () => {
    const redis = testRedis();
    const bp = { boardId: uniqueId("rm"), periodKey: "all" };
    written.track(bp.boardId, bp.periodKey);
    const row = (playerId: string, sortScore: number, version: number) => ({
      ...bp,
      playerId,
      sortScore,
      reachedAt: 1_000,
      version,
      displayName: `N ${playerId}`,
    });
    await applyToRedis(redis, prefix, [row("a", 1, 3), row("b", 2, 1), row("c", 3, 7)]);
    await markLoaded(redis, prefix, bp);

    const removals = [
      { ...bp, playerId: "a", version: 3 },
      { ...bp, playerId: "c", version: 6 },
      { ...bp, playerId: "nobody", version: 9 },
    ];
    expect(await removeFromRedis(redis, prefix, removals)).toBe(1);
    // Again (the settle pass): nothing more to remove.
    expect(await removeFromRedis(redis, prefix, removals)).toBe(0);

    const page = await pageFromRedis(redis, prefix, bp.boardId, bp.periodKey, {
      offset: 0,
      limit: 10,
    });
    expect(page.entries.map((e) => e.playerId)).toEqual(["b", "c"]);
    expect(page.total).toBe(2);
    const [a] = await ranksFromRedis(redis, prefix, bp.boardId, bp.periodKey, ["a"]);
    expect(a).toBeNull();
    const keys = rankKeys(prefix, bp.boardId, bp.periodKey);
    expect(await redis.hlen(keys.m)).toBe(2);
    expect(await redis.hexists(keys.d, "a")).toBe(0);
  });
});
