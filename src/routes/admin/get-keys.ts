import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { listKeys } from "../../services/access/key-admin";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { KeyListSchema } from "./keys-schema";

const route = guardedRoute({
  access: { credential: "admin-key", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/keys",
  tags: ["admin", "keys"],
  summary: "Server keys, newest first (never their secrets)",
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  responses: {
    200: { description: "Keys", content: { "application/json": { schema: KeyListSchema } } },
    ...errorResponses(400),
  },
});

export function registerGetKeys(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const keys = await listKeys(c.get("stores").db(), c.req.valid("query").limit);
    c.header("cache-control", "no-store");
    return c.json({ keys }, 200);
  });
}
