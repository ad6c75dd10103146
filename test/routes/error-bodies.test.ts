import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { describeError } from "../../src/lib/log";
import { ADMIN, eventId, testEnv, uniqueId } from "../helpers/factories";

/**
 * What a body must never show a client: statements, driver wrappers, stack frames, connection
 * details.
 */
const LEAKS: Array<[string, RegExp]> = [
  ["SQL", /\b(select|insert|update|delete)\b/i],
  ["drizzle's wrapper", /failed query|params:/i],
  ["a stack frame", /\bat \S+ \(|\bat \S+:\d+:\d+|\n\s+at /],
  ["a connection string", /postgres(ql)?:\/\//i],
  ["a database address", /127\.0\.0\.1|edgeboard_test_/],
  ["a Postgres message", /relation "|does not exist|division by zero|syntax error/i],
];

function expectNoLeak(text: string, what: string): void {
  for (const [leak, pattern] of LEAKS)
    expect(`${what}: ${leak}: ${pattern.test(text) ? text : "none"}`).toBe(
      `${what}: ${leak}: none`,
    );
}

/** The test database's server with a database name that does not exist on it. */
function missingDatabaseUrl(): string {
  const url = new URL(testEnv.DATABASE_URL);
  url.pathname = `/${uniqueId("edgeboard_missing").replace(/-/g, "_")}`;
  return url.toString();
}

async function call(
  app: ReturnType<typeof createApp>,
  path: string,
  init: RequestInit,
  env: AppBindings,
) {
  const ctx = createExecutionContext();
  const res = await app.request(path, init, env, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: await res.text() };
}

describe("error bodies never carry SQL, driver text or stack traces", () => {
  it("a statement Postgres refuses answers a bare 500 or a 503, whatever the driver said", async () => {
    const app = createApp();
    // Real statements through the request's database, as a route's bug or a missed migration would
    // run them.
    app.get("/v1/fails/division", async (c) => {
      await c
        .get("stores")
        .db()
        .execute(sql`select 1 / (select count(*) from boards where id = 'never')`);
      return c.json({});
    });
    app.get("/v1/fails/missing-table", async (c) => {
      await c.get("stores").db().execute(sql`insert into edgeboard_never_migrated (id) values (1)`);
      return c.json({});
    });
    const division = await call(app, "/v1/fails/division", {}, testEnv);
    expect(division.status).toBe(500);
    expect(JSON.parse(division.text)).toMatchObject({ error: { code: "INTERNAL_ERROR" } });
    expectNoLeak(division.text, "division by zero");
    const missing = await call(app, "/v1/fails/missing-table", {}, testEnv);
    expect(missing.status).toBe(503);
    expectNoLeak(missing.text, "missing table");
  });

  it("routes with a broken DATABASE_URL answer without the driver's words", async () => {
    const app = createApp();
    const broken: Array<[string, AppBindings]> = [
      ["refused", { ...testEnv, DATABASE_URL: "postgres://postgres:secret@127.0.0.1:1/down" }],
      ["missing database", { ...testEnv, DATABASE_URL: missingDatabaseUrl() }],
    ];
    const never = uniqueId("never-seen");
    const requests: Array<[string, RequestInit]> = [
      [`/v1/boards/${never}`, {}],
      [`/v1/leaderboards/${never}/players/p1`, {}],
      ["/v1/players/p1/ranks", {}],
      [
        "/v1/events",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: eventId(),
            type: "score",
            playerId: "p1",
            occurredAt: new Date().toISOString(),
            boardId: never,
            score: 1,
          }),
        },
      ],
      [
        "/v1/admin/boards",
        { method: "POST", headers: ADMIN, body: JSON.stringify({ id: never, name: "x" }) },
      ],
    ];
    // The embedded test database (PGlite) has one database under every name: there only the
    // refused address fails, and a "missing" database answers like the real one.
    const missingIsServed =
      (await call(app, `/v1/boards/${never}`, {}, broken[1]?.[1] ?? testEnv)).status === 404;
    for (const [how, env] of broken) {
      for (const [path, init] of requests) {
        const res = await call(app, path, init, env);
        if (how === "refused" || !missingIsServed)
          expect([how, path, res.status >= 400]).toEqual([how, path, true]);
        expectNoLeak(res.text, `${how} ${path}`);
      }
      const ready = await call(app, "/health/ready", {}, env);
      expectNoLeak(ready.text.replace(/to 127\.0\.0\.1:\d+/g, "to HOST"), `${how} /health/ready`);
    }
  });

  it("log descriptions follow causes without the statement drizzle wraps around them", () => {
    const driver = Object.assign(new Error('relation "x" does not exist'), { code: "42P01" });
    const drizzle = new Error("Failed query: select max(created_at) from x\nparams: ", {
      cause: driver,
    });
    const described = describeError(new Error("no migration applied", { cause: drizzle }));
    expect(described).toBe(
      'no migration applied caused by: relation "x" does not exist (code 42P01)',
    );
  });
});
