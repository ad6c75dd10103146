import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { revokeKey } from "../../services/access/key-admin";
import { KEY_CACHE_MS } from "../../services/access/server-keys";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { KeyParamsSchema, KeySchema } from "./keys-schema";

const route = guardedRoute({
  access: { credential: "admin-key", rateLimit: "admin" },
  method: "delete",
  path: "/v1/admin/keys/{id}",
  tags: ["admin", "keys"],
  summary: "Revoke a server key",
  description:
    `A revoked key stops working everywhere within ${KEY_CACHE_MS / 1000} s ` +
    "(each isolate keeps a key that long).",
  request: { params: KeyParamsSchema },
  responses: {
    200: {
      description: "Revoked (revoking again changes nothing)",
      content: { "application/json": { schema: KeySchema } },
    },
    ...errorResponses(400, 404),
  },
});

export function registerDeleteKey(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const revoked = await revokeKey(c.get("stores").db(), id);
    if (!revoked)
      throw new ApiError("NOT_FOUND", `No key with id "${id}"; GET /v1/admin/keys lists them`);
    return c.json(revoked, 200);
  });
}
