import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { describeError, log } from "../../lib/log";
import { snapshot } from "../../lib/metrics";
import { jobMetrics, readJobHealth } from "../../services/operations/job-health";
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
    "Redis and Postgres reads and failures; and the cron jobs' health",
  description:
    "Counters are per isolate and reset when it restarts; a deployment sees one set per isolate. " +
    "The job figures (jobsDegraded, job.<name>.degraded, job.<name>.lastSuccessAgeSeconds) are " +
    "read from job_runs and are the same everywhere; jobsUnknown is 1 when they could not be read.",
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
  app.openapi(route, async (c) => {
    c.header("cache-control", "no-store");
    const stores = c.get("stores");
    const circuit = stores.redisBreaker.snapshot();
    const counters = {
      ...snapshot(),
      redisCircuitOpen: circuit.state === "closed" ? 0 : 1,
      redisCircuitOpened: circuit.opened,
    };
    // The counters answer whatever Postgres does: a failed read of job_runs only says so.
    const now = new Date();
    const jobs = await readJobHealth(stores.db(), { redisConfigured: stores.redis !== null, now })
      .then((health) => ({ ...jobMetrics(health, now), jobsUnknown: 0 }))
      .catch((error: unknown) => {
        log.warn("metrics: job health unreadable", { error: describeError(error) });
        return { jobsUnknown: 1 };
      });
    return c.json({ ...counters, ...jobs }, 200);
  });
}
