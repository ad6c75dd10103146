import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { failedDependency } from "../../src/lib/dependency-errors";
import { ADMIN, createBoard, eventId, testEnv, uniqueId } from "../helpers/factories";

/**
 * The worker's own view of the world with Postgres unreachable (the objects and Redis keep theirs).
 */
const postgresDown: AppBindings = {
  ...testEnv,
  DATABASE_URL: "postgres://postgres@127.0.0.1:1/down",
};
const app = createApp();

async function call(path: string, init: RequestInit = {}, env = postgresDown) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text };
}

describe("a dependency that is down answers 503 with Retry-After, never 500", () => {
  it("classifies what drivers and the runtime throw", () => {
    const wrapped = (cause: unknown) =>
      Object.assign(new Error("Failed query: select 1"), { cause });
    expect(
      failedDependency(Object.assign(new Error("terminating connection"), { code: "57P01" })),
    ).toBe("Postgres");
    expect(
      failedDependency(wrapped(Object.assign(new Error("connection failure"), { code: "08006" }))),
    ).toBe("Postgres");
    expect(
      failedDependency(
        Object.assign(new Error("Server error (HTTP status 502)"), { name: "NeonDbError" }),
      ),
    ).toBe("Postgres");
    expect(
      failedDependency(
        Object.assign(new Error("Durable Object is overloaded"), { overloaded: true }),
      ),
    ).toBe("a Durable Object");
    expect(failedDependency(new TypeError("fetch failed"))).toBe("the network");
    expect(failedDependency(Object.assign(new Error("x"), { name: "TimeoutError" }))).toBe(
      "the network",
    );
    // Our own faults stay 500s: a bad statement, a bug.
    expect(
      failedDependency(
        wrapped(Object.assign(new Error("syntax error at or near"), { code: "42601" })),
      ),
    ).toBeNull();
    expect(
      failedDependency(new TypeError("Cannot read properties of undefined (reading 'id')")),
    ).toBeNull();
  });

  it("GET /v1/players/:player/ranks, an unknown board's reads and events answer 503 while Postgres is down", async () => {
    const unknown = uniqueId("never-seen");
    const routes: Array<[string, RequestInit?]> = [
      ["/v1/players/p1/ranks"],
      [`/v1/leaderboards/${unknown}`],
      [`/v1/leaderboards/${unknown}/players/p1`],
      [`/v1/boards/${unknown}`],
      [
        "/v1/events",
        {
          method: "POST",
          headers: ADMIN,
          body: JSON.stringify({
            id: eventId(),
            type: "score",
            playerId: "p1",
            occurredAt: new Date().toISOString(),
            boardId: unknown,
            score: 1,
          }),
        },
      ],
    ];
    for (const [path, init] of routes) {
      const res = await call(path, init);
      expect([path, res.status]).toEqual([path, 503]);
      expect(Number(res.retryAfter)).toBeGreaterThan(0);
      const body = JSON.parse(res.text) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("DEPENDENCY_UNAVAILABLE");
      expect(body.error.message).not.toMatch(/select |insert |Failed query/i);
    }
  });

  it("a board this isolate knows still serves its page from the object while Postgres is down", async () => {
    const board = await createBoard();
    const res = await call(`/v1/leaderboards/${board}`, {}, testEnv);
    expect(res.status).toBe(200);
    const down = await call(`/v1/leaderboards/${board}?limit=10`);
    expect(down.status).toBe(200);
  });
});
