import type { OpenAPIHono } from "@hono/zod-openapi";
import { createKey } from "../../services/access/key-admin";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { CreatedKeySchema, CreateKeySchema } from "./keys-schema";

const route = guardedRoute({
  access: { credential: "admin-key", rateLimit: "admin" },
  method: "post",
  path: "/v1/admin/keys",
  tags: ["admin", "keys"],
  summary: "Create a server key; the answer is the only time its secret is shown",
  request: {
    body: { required: true, content: { "application/json": { schema: CreateKeySchema } } },
  },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: CreatedKeySchema } } },
    ...errorResponses(400),
  },
});

export function registerPostKey(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const created = await createKey(c.get("stores").db(), c.req.valid("json"));
    c.header("cache-control", "no-store");
    return c.json(created, 201);
  });
}
