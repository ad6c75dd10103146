import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { readIngestStats } from "../../services/operations/ingest-stats";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { IngestStatsSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/ingest/stats",
  tags: ["admin"],
  summary: "Accepted, persisted, duplicate and rejected counts per queue; consumer lag; DLQ depth",
  request: {
    query: z.object({
      hours: z.coerce
        .number()
        .int()
        .min(1)
        .max(24 * 31)
        .default(24),
    }),
  },
  responses: {
    200: { description: "Stats", content: { "application/json": { schema: IngestStatsSchema } } },
    ...errorResponses(400, 401),
  },
});

export function registerGetIngestStats(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) =>
    c.json(await readIngestStats(c.get("stores").db(), c.req.valid("query").hours), 200),
  );
}
