import type { OpenAPIHono, z } from "@hono/zod-openapi";
import { describeError, log } from "../../lib/log";
import { snapshot } from "../../lib/metrics";
import { jobMetrics, readJobHealth } from "../../services/operations/job-health";
import { readMetricsWindow } from "../../services/operations/metrics-window";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { MetricsQuerySchema, MetricsSchema } from "./metrics-schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/metrics",
  tags: ["admin"],
  summary:
    "Request, cache, latency and consumer figures over a window; this isolate's counters; and " +
    "the cron jobs' health",
  description:
    "`window` holds the figures of the last 5m, 1h or 24h from the data points every request, " +
    "batch, dead letter and rate-limit refusal writes: from Analytics Engine when deployed " +
    "(with ANALYTICS_ACCOUNT_ID and ANALYTICS_API_TOKEN; without them `available` is false and " +
    "`unavailable` says so), from this isolate's per-minute sums in development. The flat " +
    "counters are per isolate and reset when it restarts. The job figures (jobsDegraded, " +
    "job.<name>.degraded, job.<name>.lastSuccessAgeSeconds) are read from job_runs and are the " +
    "same everywhere; jobsUnknown is 1 when they could not be read.",
  request: { query: MetricsQuerySchema },
  responses: {
    200: { description: "Figures", content: { "application/json": { schema: MetricsSchema } } },
    ...errorResponses(400, 401),
  },
});

export function registerGetMetrics(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    c.header("cache-control", "no-store");
    const stores = c.get("stores");
    const circuit = stores.redisBreaker.snapshot();
    const counters = {
      ...snapshot(),
      redisCircuitOpen: circuit.state === "closed" ? 0 : 1,
      redisCircuitOpened: circuit.opened,
    };
    // The counters answer whatever Postgres or Analytics Engine do: a failed read only says so.
    const now = new Date();
    const [jobs, window] = await Promise.all([
      readJobHealth(stores.db(), { redisConfigured: stores.redis !== null, now })
        .then((health) => ({ ...jobMetrics(health, now), jobsUnknown: 0 }))
        .catch((error: unknown) => {
          log.warn("metrics: job health unreadable", { error: describeError(error) });
          return { jobsUnknown: 1 };
        }),
      readMetricsWindow(c.env, c.req.valid("query").window, now.getTime()),
    ]);
    // TypeScript cannot state "numbers, and one object named window" (the schema's catchall):
    // the body is built to the schema, and the cast only tells the compiler so.
    const body = { ...counters, ...jobs, window } as unknown as z.infer<typeof MetricsSchema>;
    return c.json(body, 200);
  });
}
