import type { OpenAPIHono } from "@hono/zod-openapi";
import { readJobReport } from "../../services/operations/job-report";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { JobReportSchema, JobsQuerySchema } from "./jobs-schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/jobs",
  tags: ["admin"],
  summary: "Recent cron job runs, newest first, and each job's last success and degraded state",
  request: { query: JobsQuerySchema },
  responses: {
    200: { description: "Job runs", content: { "application/json": { schema: JobReportSchema } } },
    ...errorResponses(400),
  },
});

export function registerGetJobs(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { job, limit } = c.req.valid("query");
    const stores = c.get("stores");
    const report = await readJobReport(stores.db(), {
      job,
      limit,
      redisConfigured: stores.redis !== null,
      now: new Date(),
    });
    c.header("cache-control", "no-store");
    return c.json(report, 200);
  });
}
