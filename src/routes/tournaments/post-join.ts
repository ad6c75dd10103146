import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { requireTournament } from "../../services/tournaments/definitions";
import { actingFor, joinTournament } from "../../services/tournaments/join";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { JoinBodySchema, JoinResultSchema, TournamentParamsSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "event-write", rateLimit: "write" },
  method: "post",
  path: "/v1/tournaments/{id}/join",
  tags: ["tournaments"],
  summary: "Join the running (or next) instance; idempotent; 409 TOURNAMENT_FULL when full",
  description:
    "A player token joins its own player; a server key with events:write joins any player " +
    "(playerId in the body). Places are taken atomically: never more than maxPlayers.",
  request: {
    params: TournamentParamsSchema,
    body: { required: true, content: { "application/json": { schema: JoinBodySchema } } },
  },
  responses: {
    200: {
      description: "Joined (or already in)",
      content: { "application/json": { schema: JoinResultSchema } },
    },
    ...errorResponses(400, 404, 409, 503),
  },
});

export function registerPostJoin(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const caller = c.get("caller");
    const playerId =
      c.req.valid("json").playerId ?? (caller.kind === "player" ? caller.playerId : undefined);
    if (playerId === undefined)
      throw new ApiError("BAD_REQUEST", "playerId is required with a server key");
    actingFor(caller, playerId);
    const db = c.get("stores").db();
    const tournament = await requireTournament(db, id);
    const { instanceKey, joined } = await joinTournament(db, tournament, playerId, Date.now());
    return c.json({ tournament: id, instance: instanceKey, playerId, joined }, 200);
  });
}
