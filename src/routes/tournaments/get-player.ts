import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { readInstancePlayer } from "../../services/tournaments/player-standings";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { instanceOf } from "./instance";
import { InstancePlayerParamsSchema, InstancePlayerSchema, InstanceQuerySchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/tournaments/{id}/players/{player}",
  tags: ["tournaments"],
  summary: "A player's score, rank, the instance's total and the player's percentile",
  description:
    "An open instance answers like a board (Redis, the Durable Object, Postgres); a finalised " +
    "one from its frozen standings.",
  request: { params: InstancePlayerParamsSchema, query: InstanceQuerySchema },
  responses: {
    200: {
      description: "The player's standing",
      content: { "application/json": { schema: InstancePlayerSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerGetTournamentPlayer(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { id, player } = c.req.valid("param");
    const query = c.req.valid("query");
    const { tournament, instance, reads } = await instanceOf(c, id, query.instance);
    const standing = await readInstancePlayer(reads, tournament, instance.key, player);
    if (!standing)
      throw new ApiError(
        "NOT_FOUND",
        `Player "${player}" has no score in "${id}" instance ${instance.key}`,
      );
    const { source, ...rest } = standing;
    c.header("x-rank-source", source);
    c.header("cache-control", "no-store");
    return c.json(rest, 200);
  });
}
