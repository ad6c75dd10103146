import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import type { AppBindings } from "../../../src/env";
import { ApiError } from "../../../src/lib/errors";
import { RankGate } from "../../../src/stores/postgres/rank-gate";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `release()` is called: a rank count that takes as long as the test wants. */
function held(): { done: Promise<void>; release: () => void } {
  let release = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { done, release };
}

describe("RankGate (the isolate's cap on Postgres rank fallbacks)", () => {
  it("runs at most `running` counts at once; the others wait their turn and all finish", async () => {
    const gate = new RankGate({ running: 2, waiting: 10, maxWaitMs: 5_000 });
    let now = 0;
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        gate.run(async () => {
          now += 1;
          most = Math.max(most, now);
          await sleep(15);
          now -= 1;
          return i;
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
  });

  it("refuses with 503 and Retry-After when too many wait, or a turn takes longer than maxWaitMs", async () => {
    const gate = new RankGate({ running: 1, waiting: 1, maxWaitMs: 60 });
    const slow = held();
    const first = gate.run(() => slow.done);
    const second = gate.run(async () => "second").catch((error: unknown) => error);
    // The one waiting place is taken: a third is refused at once.
    const third = await gate.run(async () => "third").catch((error: unknown) => error);
    expect(third).toBeInstanceOf(ApiError);
    expect((third as ApiError).code).toBe("DEPENDENCY_UNAVAILABLE");
    expect((third as ApiError).headers).toEqual({ "retry-after": "5" });
    // The second waited 60 ms for a turn that never came.
    expect(await second).toBeInstanceOf(ApiError);
    slow.release();
    await first;
    // Free again: the next one runs.
    expect(await gate.run(async () => "next")).toBe("next");
  });

  it("takes `waiting` waiters: the next is refused at once, not made to wait", async () => {
    // A long maxWaitMs: a refusal inside the race below can only be the immediate one.
    const gate = new RankGate({ running: 1, waiting: 2, maxWaitMs: 10_000 });
    const slow = held();
    const first = gate.run(async () => {
      await slow.done;
      return "first";
    });
    const waiters = [gate.run(async () => "second"), gate.run(async () => "third")];
    const fourth = gate.run(async () => "fourth").catch((error: unknown) => error);
    const outcome = await Promise.race([fourth, sleep(300).then(() => "still waiting")]);
    expect(outcome).toBeInstanceOf(ApiError);
    expect((outcome as ApiError).code).toBe("DEPENDENCY_UNAVAILABLE");
    // Both waiters keep their places and run once the count ahead of them ends.
    slow.release();
    expect(await Promise.all([first, ...waiters])).toEqual(["first", "second", "third"]);
  });

  it("lets go of a place whose request was abandoned mid-count (its finally never ran)", async () => {
    const gate = new RankGate({ running: 1, waiting: 4, maxWaitMs: 2_000, staleAfterMs: 80 });
    // Never settles: what a request cancelled by its client leaves behind.
    void gate.run(() => new Promise<never>(() => {}));
    const started = Date.now();
    expect(await gate.run(async () => "after the stale one")).toBe("after the stale one");
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it("a refusal reaches the client as a JSON 503 with Retry-After", async () => {
    const app = createApp();
    const full = new RankGate({ running: 0, waiting: 0, maxWaitMs: 0 });
    app.get("/v1/needs-a-rank-count", async (c) =>
      c.json(await full.run(async () => ({ rank: 1 }))),
    );
    const ctx = createExecutionContext();
    const res = await app.request("/v1/needs-a-rank-count", {}, env as AppBindings, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const body = (await res.json()) as {
      error: { code: string; message: string; retryAfterSeconds: number };
    };
    expect(body.error.code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(body.error.message).toMatch(/retry in 5 s/);
    expect(body.error.retryAfterSeconds).toBe(5);
  });
});
