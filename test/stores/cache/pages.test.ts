import { describe, expect, it } from "vitest";
import { cachedJson } from "../../../src/stores/cache/pages";
import { testEnv, uniqueId } from "../../helpers/factories";
import { ownerContext, within } from "../../helpers/request-contexts";

const options = { freshSeconds: 5, staleSeconds: 30, waitUntil: () => {} };
const keyFor = () => `https://edge-cache.internal/test/${uniqueId("page")}`;

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
  const short = { freshSeconds: 0.2, staleSeconds: 0.3, waitUntil: () => {} };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
