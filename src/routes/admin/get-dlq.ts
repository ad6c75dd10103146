import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { listDeadLetters } from "../../services/operations/dead-letters";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { DeadLetterListSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/dlq",
  tags: ["admin"],
  summary: "Dead letters not yet replayed, oldest first, with the error each died of",
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  responses: {
    200: {
      description: "Dead letters",
      content: { "application/json": { schema: DeadLetterListSchema } },
    },
    ...errorResponses(400, 401),
  },
});

export function registerGetDlq(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) =>
    c.json(await listDeadLetters(c.get("stores").db(), c.req.valid("query").limit), 200),
  );
}
