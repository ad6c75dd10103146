import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { checkSchema } from "../../src/services/operations/readiness";
import { openDatabase } from "../../src/stores/postgres/client";
import { LATEST_MIGRATION } from "../../src/stores/postgres/schema-version";

/** GET /health/ready on a fresh app with some bindings replaced, its background work awaited. */
async function readyWith(overrides: Partial<AppBindings>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp().request(
    "/health/ready",
    {},
    { ...(env as AppBindings), ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("GET /health", () => {
  it("answers without touching any dependency", async () => {
    const res = await exports.default.fetch("http://edge.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", environment: "development" });
  });
});

describe("GET /health/ready", () => {
  it("reports the database ok with a latency, through the Neon driver", async () => {
    const res = await exports.default.fetch("http://edge.test/health/ready");
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string; latencyMs?: number }>;
    };
    expect(res.status).toBe(200);
    expect(body.checks.database?.status).toBe("ok");
    expect(body.checks.database?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  // The expectation comes from how the run was started (REDIS_URL, see test/global-setup.ts), not
  // from the worker's bindings: a Redis the stack started but the worker never got must fail here.
  it.runIf(inject("redisRequested"))(
    "with REDIS_URL set, reports redis configured and up, with its circuit",
    async () => {
      const res = await exports.default.fetch("http://edge.test/health/ready");
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        status: string;
        checks: { redis: { status: string; latencyMs?: number; circuit?: { state: string } } };
      };
      expect(body.status).toBe("ready");
      expect(body.checks.redis.status).toBe("ok");
      expect(body.checks.redis.latencyMs).toBeGreaterThanOrEqual(0);
      expect(body.checks.redis.circuit?.state).toBe("closed");
    },
  );

  it.runIf(!inject("redisRequested"))(
    "without REDIS_URL, reports redis not configured (and not required)",
    async () => {
      const res = await exports.default.fetch("http://edge.test/health/ready");
      expect(res.status).toBe(200);
      const body = (await res.json()) as { checks: { redis: Record<string, unknown> } };
      expect(body.checks.redis).toEqual({ status: "not_configured", required: false });
    },
  );

  it("answers 503 naming the database when DATABASE_URL is broken, without crashing", async () => {
    const res = await readyWith({ DATABASE_URL: "postgres://nobody@127.0.0.1:1/missing" });
    expect(res.status).toBe(503);
    const body = (await res.json()) as {
      status: string;
      checks: { database: { status: string; error?: string } };
    };
    expect(body.status).toBe("unready");
    expect(body.checks.database.status).toBe("down");
    // Which of the two ways to Postgres failed first: HTTP queries (reads) or sessions (batches).
    expect(body.checks.database.error).toMatch(
      /^(HTTP queries|WebSocket sessions) to 127\.0\.0\.1:1: /,
    );
  });

  it("checks the database is migrated for this code, and says to migrate when it is not", async () => {
    const handle = openDatabase(env as AppBindings, { maxConnections: 1 });
    try {
      await expect(checkSchema(handle.db)).resolves.toBeUndefined();
      // A release newer than what this database has seen: the same query, a later migration needed.
      const future = { tag: "9999_from_a_later_release", when: LATEST_MIGRATION.when + 1 };
      await expect(checkSchema(handle.db, future)).rejects.toThrow(
        /9999_from_a_later_release.*npm run db:migrate/,
      );
    } finally {
      await handle.close();
    }
  });

  it("answers 503 naming every mistyped var, and says where to fix them", async () => {
    const res = await readyWith({ OBJECT_PAST_PERIOD_DAYS: "a week", EVENTS_MAX_BATCH: "0" });
    expect(res.status).toBe(503);
    const body = (await res.json()) as {
      status: string;
      checks: { config: { status: string; error?: string }; database: { status: string } };
    };
    expect(body.status).toBe("unready");
    expect(body.checks.config.status).toBe("invalid");
    expect(body.checks.config.error).toMatch(
      /EVENTS_MAX_BATCH must be an integer >= 1 \(got "0"\).*wrangler\.toml/,
    );
    expect(body.checks.config.error).toMatch(
      /OBJECT_PAST_PERIOD_DAYS must be a number of days >= 0 \(got "a week"\)/,
    );
    expect(body.checks.database.status).toBe("ok");
    // The shipped wrangler.toml passes.
    const shipped = (await (
      await exports.default.fetch("http://edge.test/health/ready")
    ).json()) as {
      checks: { config: { status: string } };
    };
    expect(shipped.checks.config.status).toBe("ok");
  });

  it("answers 503 for a CORS_ORIGINS entry no browser sends, and for the local Neon proxy outside development", async () => {
    const res = await readyWith({
      CORS_ORIGINS: "https://game.example,https://game.example/",
      ENVIRONMENT: "production",
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { config: { status: string; error?: string } } };
    expect(body.checks.config.status).toBe("invalid");
    expect(body.checks.config.error).toContain(
      'CORS_ORIGINS entry "https://game.example/" is not an origin',
    );
    expect(body.checks.config.error).not.toContain('"https://game.example"');
    // The tests reach Postgres through the local proxy, as development does.
    expect(body.checks.config.error).toMatch(
      /NEON_WS_PROXY is set in production; it is for local development only/,
    );
  });

  it("reports redis down (but stays ready) when Upstash is unreachable", async () => {
    const res = await readyWith({
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1",
      UPSTASH_REDIS_REST_TOKEN: "x",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: { redis: { status: string } } };
    expect(body.status).toBe("degraded");
    expect(body.checks.redis.status).toBe("down");
  });
});

describe("errors", () => {
  it("answers unknown routes with a JSON 404 in the error shape", async () => {
    const res = await exports.default.fetch("http://edge.test/v1/nope");
    expect(res.status).toBe(404);
    const body = (await res.json()) as {
      error: { code: string; message: string; requestId: string };
    };
    expect(body.error.code).toBe("NOT_FOUND");
    expect(body.error.requestId).toBeTruthy();
  });

  it("answers a database without the schema with a 503 that says to migrate, not a 500", async () => {
    const app = createApp();
    // A real query of a table the database lacks, through the production driver: what every route
    // meets when a deployment skipped `npm run db:migrate`.
    app.get("/v1/needs-a-missing-table", async (c) => {
      await c.get("stores").db().execute(sql`select * from edgeboard_table_never_migrated`);
      return c.json({});
    });
    const ctx = createExecutionContext();
    const res = await app.request("/v1/needs-a-missing-table", {}, env as AppBindings, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(body.error.message).toContain("npm run db:migrate");
  });
});
