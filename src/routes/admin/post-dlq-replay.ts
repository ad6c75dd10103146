import type { OpenAPIHono } from "@hono/zod-openapi";
import { replayDeadLetters } from "../../services/operations/dead-letters";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { ReplayRequestSchema, ReplayResponseSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "post",
  path: "/v1/admin/dlq/replay",
  tags: ["admin"],
  summary: "Requeue dead letters to the queue they came from (safe: events are idempotent)",
  request: {
    body: { required: false, content: { "application/json": { schema: ReplayRequestSchema } } },
  },
  responses: {
    200: {
      description: "Replayed",
      content: { "application/json": { schema: ReplayResponseSchema } },
    },
    ...errorResponses(400, 401, 415),
  },
});

export function registerPostDlqReplay(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    // Without a JSON body the validator does not run and hands over {}: apply the schema's
    // defaults.
    const body = ReplayRequestSchema.parse(c.req.valid("json") ?? {});
    return c.json(await replayDeadLetters(c.get("stores").db(), c.env, body), 200);
  });
}
