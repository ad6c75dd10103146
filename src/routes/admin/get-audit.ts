import type { OpenAPIHono } from "@hono/zod-openapi";
import { auditPage } from "../../services/moderation/audit";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { AuditListSchema, AuditQuerySchema } from "./moderation-schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/audit",
  tags: ["admin", "moderation"],
  summary: "The moderation audit trail, newest first (who, what, when, why, on whom)",
  request: { query: AuditQuerySchema },
  responses: {
    200: {
      description: "Audit rows",
      content: { "application/json": { schema: AuditListSchema } },
    },
    ...errorResponses(400),
  },
});

export function registerGetAudit(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const page = await auditPage(c.get("stores").db(), c.req.valid("query"));
    c.header("cache-control", "no-store");
    return c.json(page, 200);
  });
}
