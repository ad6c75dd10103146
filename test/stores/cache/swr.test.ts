import { describe, expect, it } from "vitest";
import { type Loader, type Policy, SwrCache } from "../../../src/stores/cache/swr";
import { testEnv } from "../../helpers/factories";
import { ownerContext, within } from "../../helpers/request-contexts";

const policy: Policy = {
  freshMs: 1_000,
  staleMs: 1_000,
  negativeMs: 500,
  staleIfErrorMs: 10_000,
  retryAfterMs: 2_000,
  loadWaitMs: 1_000,
  maxPollMs: 20,
  maxEntries: 3,
  what: "a test load",
};

class Unavailable extends Error {}
const unavailable = (failures: Array<{ key: string }>): never => {
  throw new Unavailable(failures.map((f) => f.key).join(","));
};

/** A loader answering `value(key)` for every key but those in `absent`, counting its calls. */
function origin(value: (key: string) => string, absent: string[] = [], delayMs = 0) {
  const calls: string[][] = [];
  const load: Loader<string> = async (keys) => {
    calls.push(keys);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const present = keys.filter((k) => !absent.includes(k));
    return { found: present.map((key) => ({ key, value: value(key) })) };
  };
  return { load, calls };
}

const down: Loader<string> = async () => {
  throw new Error("origin down");
};

type Extra = { now?: number; waitUntil?: (p: Promise<unknown>) => void };

/** One key through the core, as a namespace resolves it. */
const one = (cache: SwrCache<string>, key: string, load: Loader<string>, extra: Extra = {}) =>
  cache.resolve([key], load, { ...extra, unavailable }).then((m) => m.get(key));

describe("the cache core", () => {
  it("loads many keys in one call, and concurrent callers share it by polling", async () => {
    const cache = new SwrCache<string>(policy);
    const slow = origin((k) => `v:${k}`, [], 50);
    const both = () => cache.resolve(["a", "b"], slow.load, { unavailable });
    const all = await Promise.all(Array.from({ length: 10 }, both));
    expect(slow.calls).toEqual([["a", "b"]]);
    expect(all.every((m) => m.get("a")?.value === "v:a" && m.get("b")?.value === "v:b")).toBe(true);
    expect(all.filter((m) => m.get("a")?.how === "loaded")).toHaveLength(10);
  });

  it("a waiter whose loading request is torn down loads the key itself", async () => {
    const cache = new SwrCache<string>(policy);
    const owner = await ownerContext(testEnv, () => {
      const hung = origin(() => "owner", [], 5_000);
      void cache.resolve(["k"], hung.load, { unavailable }).catch(() => {});
    });
    const waiter = cache.resolve(["k"], origin(() => "waiter").load, { unavailable });
    await owner.tearDown();
    const answer = await within(waiter, 4_000);
    expect(answer === "timed out" ? answer : answer.get("k")?.value).toBe("waiter");
  });

  it("serves fresh, then stale to everybody but the one caller reloading", async () => {
    const cache = new SwrCache<string>(policy);
    const t0 = Date.now();
    await cache.resolve(["k"], origin(() => "v1").load, { now: t0, unavailable });
    const idle = origin(() => "unused");
    expect((await one(cache, "k", idle.load, { now: t0 + 500 }))?.how).toBe("fresh");
    expect(idle.calls).toHaveLength(0);

    const reload = origin(() => "v2", [], 50);
    const reloading = one(cache, "k", reload.load, { now: t0 + 1_500 });
    const meanwhile = await one(cache, "k", reload.load, { now: t0 + 1_500 });
    expect(meanwhile).toMatchObject({ value: "v1", how: "stale" });
    expect((await reloading)?.value).toBe("v2");
    expect(reload.calls).toHaveLength(1);
  });

  it("with waitUntil, serves stale at once and reloads once in the background", async () => {
    const cache = new SwrCache<string>(policy);
    const t0 = Date.now();
    await cache.resolve(["k"], origin(() => "v1").load, { now: t0, unavailable });
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => background.push(p);
    const reload = origin(() => "v2", [], 30);
    const first = await one(cache, "k", reload.load, { now: t0 + 1_500, waitUntil });
    const second = await one(cache, "k", reload.load, { now: t0 + 1_500, waitUntil });
    expect(first).toMatchObject({ value: "v1", how: "stale", revalidating: true });
    expect(second).toMatchObject({ value: "v1", how: "stale" });
    expect(second?.revalidating).toBeUndefined();
    await Promise.all(background);
    expect(reload.calls).toHaveLength(1);
    expect(cache.peek("k")?.value).toBe("v2");
  });

  it("is fresh for exactly freshMs, then stale for exactly staleMs, then loads before answering", async () => {
    // Inside workerd the clock stands still while code runs, so `now` is the entries' exact time.
    const t0 = Date.UTC(2026, 11, 1);
    const at = async (offset: number) => {
      const cache = new SwrCache<string>(policy);
      cache.set("k", "v1", t0);
      const background: Promise<unknown>[] = [];
      const reload = origin(() => "v2");
      const waitUntil = (p: Promise<unknown>) => background.push(p);
      const answer = await one(cache, "k", reload.load, { now: t0 + offset, waitUntil });
      await Promise.all(background);
      return { value: answer?.value, how: answer?.how, loads: reload.calls.length };
    };
    const { freshMs, staleMs } = policy;
    expect(await at(freshMs - 1)).toEqual({ value: "v1", how: "fresh", loads: 0 });
    expect(await at(freshMs)).toEqual({ value: "v1", how: "stale", loads: 1 });
    expect(await at(freshMs + staleMs - 1)).toEqual({ value: "v1", how: "stale", loads: 1 });
    expect(await at(freshMs + staleMs)).toEqual({ value: "v2", how: "loaded", loads: 1 });
  });

  it("fails only the callers that ran or waited for a failed load", async () => {
    const cache = new SwrCache<string>({ ...policy, staleIfErrorMs: 0, retryAfterMs: 0 });
    const t0 = Date.now();
    await one(cache, "k", origin(() => "v1").load, { now: t0 });
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => background.push(p);
    const since = Date.now();
    const first = await one(cache, "k", down, { now: t0 + 1_500, waitUntil });
    expect(first).toMatchObject({ value: "v1", revalidating: true });
    await Promise.all(background);
    // Started before that refresh failed, but never waited for it: still the stale value.
    const options = { now: t0 + 1_500, since, waitUntil, unavailable };
    const later = await cache.resolve(["k"], down, options);
    expect(later.get("k")?.value).toBe("v1");
    await Promise.all(background);
    await expect(one(cache, "k", down, { now: t0 + 2_500 })).rejects.toThrow(Unavailable);
  });

  it("serves stale-if-error while loads fail, backs off, and fails past the bound", async () => {
    const cache = new SwrCache<string>(policy);
    const t0 = Date.now();
    await cache.resolve(["k"], origin(() => "v1").load, { now: t0, unavailable });
    let calls = 0;
    const counting: Loader<string> = (keys) => {
      calls += 1;
      return down(keys);
    };
    expect((await one(cache, "k", counting, { now: t0 + 5_000 }))?.value).toBe("v1");
    expect((await one(cache, "k", counting, { now: t0 + 6_000 }))?.value).toBe("v1");
    expect(calls).toBe(1);
    await expect(one(cache, "k", counting, { now: t0 + 11_000 })).rejects.toThrow(Unavailable);
    await expect(one(cache, "never", counting)).rejects.toThrow("never");
    expect(calls).toBe(2);
  });

  it("remembers absent keys for negativeMs only, never through an outage", async () => {
    const cache = new SwrCache<string>(policy);
    const t0 = Date.now();
    const none = origin(() => "x", ["ghost"]);
    expect(await one(cache, "ghost", none.load, { now: t0 })).toBeUndefined();
    expect(await one(cache, "ghost", none.load, { now: t0 + 400 })).toBeUndefined();
    expect(none.calls).toHaveLength(1);
    await expect(one(cache, "ghost", down, { now: t0 + 600 })).rejects.toThrow("ghost");
  });

  it("keeps at most maxEntries keys in memory", async () => {
    const cache = new SwrCache<string>(policy);
    await cache.resolve(["a", "b", "c", "d"], origin((k) => k).load, { unavailable });
    const kept = ["a", "b", "c", "d"].map((k) => cache.peek(k)?.value);
    expect(kept).toEqual([undefined, "b", "c", "d"]);
  });
});
