import type { OpenAPIHono } from "@hono/zod-openapi";
import { checkReadiness } from "../../services/operations/readiness";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { ReadinessSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "none", rateLimit: "read" },
  method: "get",
  path: "/health/ready",
  tags: ["health"],
  summary: "Readiness: a real round trip to Postgres and (when configured) Redis, with latencies",
  responses: {
    200: {
      description: "Ready (or degraded: an optional dependency is down)",
      content: { "application/json": { schema: ReadinessSchema } },
    },
    503: {
      description: "A required dependency is down; the body says which",
      content: { "application/json": { schema: ReadinessSchema } },
    },
  },
});

export function registerGetReady(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { ready, checks } = await checkReadiness(c.env, (p) => c.executionCtx.waitUntil(p));
    c.header("Cache-Control", "no-store");
    if (!ready) return c.json({ status: "unready" as const, checks }, 503);
    // Status is about dependencies; checks.jobs (never "down") reports stale cron jobs on its own,
    // so an alert on a stale job and one on a dependency do not mask each other.
    const degraded =
      Object.values(checks).some((check) => check.status === "down") ||
      checks.redis.circuit?.state === "open";
    return c.json({ status: degraded ? ("degraded" as const) : ("ready" as const), checks }, 200);
  });
}
