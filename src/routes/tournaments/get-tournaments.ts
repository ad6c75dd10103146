import type { OpenAPIHono } from "@hono/zod-openapi";
import { listTournaments, tournamentView } from "../../services/tournaments/definitions";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { TournamentListQuerySchema, TournamentListSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/tournaments",
  tags: ["tournaments"],
  summary: "Tournaments by status (active, upcoming, ended), in id order",
  request: { query: TournamentListQuerySchema },
  responses: {
    200: {
      description: "Tournaments",
      content: { "application/json": { schema: TournamentListSchema } },
    },
    ...errorResponses(400, 503),
  },
});

export function registerGetTournaments(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { status, limit, cursor } = c.req.valid("query");
    const now = Date.now();
    const page = await listTournaments(c.get("stores").db(), status, now, { limit, cursor });
    c.header("cache-control", "no-store");
    return c.json(
      {
        tournaments: page.tournaments.map((t) => tournamentView(t, now)),
        nextCursor: page.nextCursor,
      },
      200,
    );
  });
}
