import { describe, expect, it } from "vitest";
import { cachedJson, purgePages } from "../../../src/stores/cache/pages";
import { testEnv, uniqueId } from "../../helpers/factories";
import { ownerContext, within } from "../../helpers/request-contexts";

const options = {
  mode: "stand-in" as const,
  tags: [],
  freshSeconds: 5,
  staleSeconds: 30,
  waitUntil: () => {},
};
const keyFor = () => `https://edge-cache.internal/test/${uniqueId("page")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("edge cache single flight", () => {
  it("a waiter whose load's owner request is torn down loads the page itself, and later requests are not stuck", async () => {
    const key = keyFor();
    // The owner: another request context of this isolate starts the load (its own timer is the
    // origin) and is torn down before it answers, as a request is when its client goes away.
    const owner = await ownerContext(testEnv, () => {
      void cachedJson(
        key,
        () => new Promise((r) => setTimeout(() => r({ status: 200, body: '"owner"' }), 500)),
        options,
      ).catch(() => {});
    });
    const waiter = cachedJson(key, async () => ({ status: 200, body: '"waiter"' }), options);
    await owner.tearDown();
    // Before: the waiter awaited the owner's promise, which never settles (workerd then cancels
    // such a request as hung). Now it polls, and loads itself once the owner's load is abandoned.
    const answer = await within(waiter, 8_000);
    expect(answer).not.toBe("timed out");
    expect(answer).toMatchObject({ body: '"waiter"', outcome: "miss" });
    const later = await within(
      cachedJson(key, async () => ({ status: 200, body: '"later"' }), options),
      1_000,
    );
    expect(later).toMatchObject({ body: '"waiter"', outcome: "hit" });
  });

  it("concurrent misses share one origin load; a failed load fails its waiters once and is not remembered", async () => {
    const key = keyFor();
    let calls = 0;
    const failing = async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 30));
      throw new Error("origin down");
    };
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => cachedJson(key, failing, options)),
    );
    expect(
      results.every((r) => r.status === "rejected" && String(r.reason).includes("origin down")),
    ).toBe(true);
    expect(calls).toBe(1);

    const ok = async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 30));
      return { status: 200, body: '"ok"' };
    };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => cachedJson(key, ok, options)),
    );
    expect(answers.every((a) => a.body === '"ok"')).toBe(true);
    expect(calls).toBe(2);
  });

  it("a request arriving during a slow load takes its result instead of loading again", async () => {
    const key = keyFor();
    let calls = 0;
    const slow = async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 1_200));
      return { status: 200, body: `"load ${calls}"` };
    };
    const first = cachedJson(key, slow, options);
    await new Promise((r) => setTimeout(r, 10));
    const second = cachedJson(key, slow, options);
    expect((await first).body).toBe('"load 1"');
    expect((await second).body).toBe('"load 1"');
    expect(calls).toBe(1);
  });
});

describe("the page's stale window", () => {
  // Lifetimes of a fraction of a second, so real time places each call: fresh for 200 ms, then
  // served stale for 300 ms more, then gone. The margins (200 ms either side) keep it deterministic.
  const short = { ...options, freshSeconds: 0.2, staleSeconds: 0.3 };
  const origin = (body: string) => {
    const calls: string[] = [];
    const load = async () => {
      calls.push(body);
      return { status: 200, body };
    };
    return { load, calls };
  };

  it("within fresh + stale, a page is served stale at once while it refreshes", async () => {
    const key = keyFor();
    expect(await cachedJson(key, origin('"v1"').load, short)).toMatchObject({
      body: '"v1"',
      outcome: "miss",
    });
    await sleep(300);
    const refresh = origin('"v2"');
    const background: Promise<unknown>[] = [];
    const answer = await cachedJson(key, refresh.load, {
      ...short,
      waitUntil: (p) => background.push(p),
    });
    expect(answer).toMatchObject({ body: '"v1"', outcome: "stale" });
    await Promise.all(background);
    expect(refresh.calls).toEqual(['"v2"']);
  });

  it("past fresh + stale, a page is not served: it is a miss that loads anew", async () => {
    const key = keyFor();
    expect(await cachedJson(key, origin('"v1"').load, short)).toMatchObject({
      body: '"v1"',
      outcome: "miss",
    });
    await sleep(700);
    const reload = origin('"v2"');
    const background: Promise<unknown>[] = [];
    const answer = await cachedJson(key, reload.load, {
      ...short,
      waitUntil: (p) => background.push(p),
    });
    expect(answer).toMatchObject({ body: '"v2"', outcome: "miss", ageSeconds: 0 });
    expect(background).toEqual([]);
    expect(reload.calls).toEqual(['"v2"']);
  });
});

describe("the page cache behind Workers Cache (PAGE_CACHE=workers-cache)", () => {
  const env = { PAGE_CACHE: "workers-cache" };

  it("purges the tags of the changed board-periods in calls of at most 100 tags", async () => {
    // Workers Cache is the platform's (neither workerd nor Miniflare has it): a recording stand-in
    // for ctx.cache checks what the consumer asks of it.
    const calls: string[][] = [];
    const cache = {
      purge: async (options: CachePurgeOptions) => {
        calls.push([...(options.tags ?? [])]);
        return { success: true } as unknown as CachePurgeResult;
      },
      invalidate: async () => ({ success: true }) as unknown as CachePurgeResult,
    };
    const boardPeriods = Array.from({ length: 150 }, (_, i) => ({
      boardId: `b${i % 120}`,
      periodKey: "all",
    }));
    expect(await purgePages(env, cache, boardPeriods)).toBe(120);
    expect(calls.map((c) => c.length)).toEqual([100, 20]);
    expect(calls[0]?.[0]).toBe("lb:b0:all");
    expect(await purgePages(env, cache, [])).toBe(0);
    expect(calls).toHaveLength(2);
  });

  it("is only asked on misses: concurrent misses share one load, and nothing is kept after it", async () => {
    const key = keyFor();
    let loads = 0;
    const load = async () => {
      loads += 1;
      await sleep(50);
      return { status: 200, body: `"v${loads}"` };
    };
    const mode = { ...options, mode: "workers-cache" as const };
    const burst = await Promise.all(Array.from({ length: 50 }, () => cachedJson(key, load, mode)));
    expect(loads).toBe(1);
    expect(new Set(burst.map((r) => `${r.body} ${r.outcome}`))).toEqual(new Set(['"v1" miss']));
    expect(await cachedJson(key, load, mode)).toMatchObject({ body: '"v2"', outcome: "miss" });
  });
});
