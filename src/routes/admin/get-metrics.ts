import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { snapshot } from "../../lib/metrics";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/metrics",
  tags: ["admin"],
  summary:
    "This isolate's counters: cache outcomes, Durable Object reads, " +
    "Redis and Postgres reads and failures",
  description:
    "Counters are per isolate and reset when it restarts; a deployment sees one set per isolate.",
  responses: {
    200: {
      description: "Counters",
      content: {
        "application/json": { schema: z.record(z.string(), z.number()).openapi("Metrics") },
      },
    },
    ...errorResponses(401),
  },
});

export function registerGetMetrics(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, (c) => {
    c.header("cache-control", "no-store");
    const circuit = c.get("stores").redisBreaker.snapshot();
    return c.json(
      {
        ...snapshot(),
        redisCircuitOpen: circuit.state === "closed" ? 0 : 1,
        redisCircuitOpened: circuit.opened,
      },
      200,
    );
  });
}
