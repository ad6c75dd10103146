import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppContext } from "../../env";
import { replayDeadLetters } from "../../services/dead-letters";
import { errorResponses } from "../errors";
import { ReplayRequestSchema, ReplayResponseSchema } from "./schema";

const route = createRoute({
  method: "post",
  path: "/v1/admin/dlq/replay",
  tags: ["admin"],
  summary: "Requeue dead letters to the queue they came from (safe: events are idempotent)",
  security: [{ adminKey: [] }],
  request: { body: { required: false, content: { "application/json": { schema: ReplayRequestSchema } } } },
  responses: {
    200: { description: "Replayed", content: { "application/json": { schema: ReplayResponseSchema } } },
    ...errorResponses(400, 401, 415),
  },
});

export function registerPostDlqReplay(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json") ?? { limit: 100 };
    return c.json(await replayDeadLetters(c.get("db")(), c.env, body), 200);
  });
}
