import type { OpenAPIHono } from "@hono/zod-openapi";
import { readTournament, tournamentView } from "../../services/tournaments/definitions";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { TournamentParamsSchema, TournamentSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/tournaments/{id}",
  tags: ["tournaments"],
  summary: "A tournament, its status and its current and next instances",
  request: { params: TournamentParamsSchema },
  responses: {
    200: {
      description: "The tournament",
      content: { "application/json": { schema: TournamentSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerGetTournament(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const tournament = await readTournament(c.get("stores").db(), c.req.valid("param").id);
    c.header("cache-control", "no-store");
    return c.json(tournamentView(tournament, Date.now()), 200);
  });
}
