import type { OpenAPIHono } from "@hono/zod-openapi";
import { requireTournament } from "../../services/tournaments/definitions";
import { finaliseInstance } from "../../services/tournaments/finalise";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { FinalizeBodySchema, FinalizeResultSchema, TournamentParamsSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "tournaments:admin", rateLimit: "admin" },
  method: "post",
  path: "/v1/admin/tournaments/{id}/finalize",
  tags: ["admin", "tournaments"],
  summary: "Freeze an ended instance's standings and award its prizes (idempotent)",
  description:
    "The last ended instance unless `instance` names one. A second call (or the alarm, or the " +
    "cron) finds it finalised and answers finalisedNow: false; prizes are awarded once.",
  request: {
    params: TournamentParamsSchema,
    body: { required: true, content: { "application/json": { schema: FinalizeBodySchema } } },
  },
  responses: {
    200: {
      description: "Finalised",
      content: { "application/json": { schema: FinalizeResultSchema } },
    },
    ...errorResponses(400, 404, 409, 503),
  },
});

export function registerPostFinalize(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const db = c.get("stores").db();
    const tournament = await requireTournament(db, c.req.valid("param").id);
    const result = await finaliseInstance(db, tournament, c.req.valid("json").instance, Date.now());
    return c.json(result, 200);
  });
}
