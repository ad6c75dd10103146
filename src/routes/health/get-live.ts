import type { OpenAPIHono } from "@hono/zod-openapi";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { LivenessSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "none", rateLimit: "read" },
  method: "get",
  path: "/health",
  tags: ["health"],
  summary: "Liveness: the worker runs (touches no dependency)",
  responses: {
    200: { description: "Alive", content: { "application/json": { schema: LivenessSchema } } },
  },
});

export function registerGetHealthLive(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, (c) => c.json({ status: "ok" as const, environment: c.env.ENVIRONMENT }, 200));
}
