import type { OpenAPIHono } from "@hono/zod-openapi";
import { statsRangeProblem } from "../../domain";
import { ApiError } from "../../lib/errors";
import { readStats } from "../../services/operations/stats";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { StatsQuerySchema, StatsSchema } from "./stats-schema";

/** The range asked for when `from` is left out, per granularity. */
const DEFAULT_RANGE_MS = { hour: 24 * 3_600_000, day: 30 * 86_400_000 } as const;

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/stats",
  tags: ["admin"],
  summary: "Event figures per hour or UTC day, from the rollups, with how fresh they are",
  request: { query: StatsQuerySchema },
  responses: {
    200: { description: "Figures", content: { "application/json": { schema: StatsSchema } } },
    ...errorResponses(400),
  },
});

export function registerGetStats(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid("query");
    const now = new Date();
    const to = query.to ? new Date(query.to) : now;
    const from = query.from
      ? new Date(query.from)
      : new Date(to.getTime() - DEFAULT_RANGE_MS[query.granularity]);
    const problem = statsRangeProblem(query.granularity, from, to);
    if (problem) throw new ApiError("VALIDATION_FAILED", problem);
    const stats = await readStats(c.get("stores").db(), {
      span: query.granularity,
      from,
      to,
      type: query.type,
      board: query.board,
      maxAgeMs: Number(c.env.EVENTS_MAX_AGE_SECONDS) * 1000,
      now,
    });
    c.header("cache-control", "no-store");
    return c.json(stats, 200);
  });
}
