import type { OpenAPIHono } from "@hono/zod-openapi";
import { requireTournament } from "../../services/tournaments/definitions";
import { grantMoreAttempts } from "../../services/tournaments/join";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import {
  GrantAttemptsBodySchema,
  GrantAttemptsResultSchema,
  TournamentParamsSchema,
} from "./schema";

const route = guardedRoute({
  access: { credential: "tournaments:admin", rateLimit: "admin" },
  method: "post",
  path: "/v1/admin/tournaments/{id}/attempts",
  tags: ["admin", "tournaments"],
  summary: "Grant a joined player more attempts on an instance (the running one by default)",
  request: {
    params: TournamentParamsSchema,
    body: { required: true, content: { "application/json": { schema: GrantAttemptsBodySchema } } },
  },
  responses: {
    200: {
      description: "Granted",
      content: { "application/json": { schema: GrantAttemptsResultSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerPostAttempts(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const db = c.get("stores").db();
    const tournament = await requireTournament(db, c.req.valid("param").id);
    return c.json(await grantMoreAttempts(db, tournament, c.req.valid("json"), Date.now()), 200);
  });
}
