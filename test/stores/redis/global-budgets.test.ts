import { describe, expect, it } from "vitest";
import { slidingCount } from "../../../src/domain/sliding-window";
import { CircuitBreaker } from "../../../src/lib/circuit-breaker";
import { openRedis } from "../../../src/stores/redis/client";
import { GlobalBudgets } from "../../../src/stores/redis/global-budgets";
import { testEnv, uniqueId } from "../../helpers/factories";
import { testRedis } from "./fixtures";

const breaker = () =>
  new CircuitBreaker("redis", {
    failures: 3,
    windowMs: 10_000,
    coolDownMs: 5_000,
    maxCoolDownMs: 60_000,
    probeTimeoutMs: 5_000,
  });

/** Budgets as one isolate holds them, flushed by the test (`flushes` counts the round trips). */
function isolate(now: () => number, prefix: string) {
  const redis = testRedis();
  let flushes = 0;
  const counted = new Proxy(redis, {
    get(target, prop, receiver) {
      if (prop !== "pipeline") return Reflect.get(target, prop, receiver);
      return () => {
        flushes += 1;
        return target.pipeline();
      };
    },
  });
  const budgets = new GlobalBudgets(counted, breaker(), prefix, { now });
  const later: Promise<unknown>[] = [];
  return {
    take: (id: string, perMinute: number) => budgets.take(id, perMinute, (p) => later.push(p)),
    flush: () => budgets.flush(),
    flushes: () => flushes,
    scheduled: () => later.length,
  };
}

describe("slidingCount", () => {
  const minute = 60_000;
  it("weighs the previous window by the share of it still inside the sliding minute", () => {
    const counts = { window: 10, previous: 100, current: 20 };
    expect(slidingCount(counts, 10 * minute, minute)).toBe(120);
    expect(slidingCount(counts, 10 * minute + minute / 4, minute)).toBe(95);
    expect(slidingCount(counts, 11 * minute + minute / 2, minute)).toBe(10);
    expect(slidingCount(counts, 12 * minute, minute)).toBe(0);
  });
});

describe.skipIf(!testEnv.UPSTASH_REDIS_REST_URL)("global budgets in Redis", () => {
  // Mid-window, so the previous window's weight is known: half of it counts.
  const at = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
  const now = () => at;

  it("one isolate refuses at the budget exactly, before any flush", () => {
    const pop = isolate(now, `eb:test:${uniqueId("gb")}:`);
    const verdicts = Array.from({ length: 4 }, () => pop.take("player:a", 3).granted);
    expect(verdicts).toEqual([true, true, true, false]);
    expect(pop.flushes()).toBe(0);
  });

  it("a budget spent through another PoP is refused here after one flush of each", async () => {
    const prefix = `eb:test:${uniqueId("gb")}:`;
    const first = isolate(now, prefix);
    const second = isolate(now, prefix);
    for (let i = 0; i < 3; i++) expect(first.take("player:b", 3).granted).toBe(true);
    await first.flush();
    // The second PoP has not read the counts yet: its first grant is the one a flush can let by.
    expect(second.take("player:b", 3).granted).toBe(true);
    await second.flush();
    const refused = second.take("player:b", 3);
    expect(refused).toEqual({ granted: false, retryAfterSeconds: 30 });
    // The first PoP sees the second's grant at its next flush.
    expect(first.take("player:c", 5).granted).toBe(true);
    await first.flush();
    expect(first.take("player:b", 3).granted).toBe(false);
  });

  it("counts every id granted within a flush in one round trip", async () => {
    const pop = isolate(now, `eb:test:${uniqueId("gb")}:`);
    for (let i = 0; i < 200; i++) expect(pop.take(`player:${i % 50}`, 300).granted).toBe(true);
    await pop.flush();
    await pop.flush();
    expect(pop.flushes()).toBe(1);
  });

  it("the previous minute's grants count by the share of it still in the window", async () => {
    const prefix = `eb:test:${uniqueId("gb")}:`;
    const earlier = isolate(() => at - 60_000, prefix);
    for (let i = 0; i < 4; i++) expect(earlier.take("player:d", 4).granted).toBe(true);
    await earlier.flush();
    // Half of the previous window is still inside the sliding minute: 2 of its 4 count.
    const pop = isolate(now, prefix);
    expect(pop.take("player:d", 4).granted).toBe(true);
    await pop.flush();
    expect(pop.take("player:d", 4).granted).toBe(true);
    expect(pop.take("player:d", 4).granted).toBe(false);
  });

  it("schedules one flush at a time, and another if one never settles (its request cancelled)", () => {
    let clock = at;
    const pop = isolate(() => clock, `eb:test:${uniqueId("gb")}:`);
    pop.take("player:f", 300);
    clock += 1_000;
    pop.take("player:f", 300);
    expect(pop.scheduled()).toBe(1);
    clock += 10_000;
    pop.take("player:f", 300);
    expect(pop.scheduled()).toBe(2);
  });

  it("Redis unreachable: grants go on (the per-PoP budgets hold) and nothing throws", async () => {
    const down = openRedis({
      ...testEnv,
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:1/${uniqueId("dead")}`,
      UPSTASH_REDIS_REST_TOKEN: "token",
    });
    if (!down) throw new Error("no client");
    const budgets = new GlobalBudgets(down, breaker(), "eb:test:down:", { now });
    expect(budgets.take("player:e", 3, () => {}).granted).toBe(true);
    await expect(budgets.flush()).resolves.toBeUndefined();
    expect(budgets.take("player:e", 3, () => {}).granted).toBe(true);
  });
});
