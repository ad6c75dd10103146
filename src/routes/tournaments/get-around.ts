import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { readInstanceAround } from "../../services/tournaments/player-standings";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { instanceOf } from "./instance";
import { InstanceEntriesSchema, InstancePlayerParamsSchema, InstanceQuerySchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/tournaments/{id}/players/{player}/around",
  tags: ["tournaments"],
  summary: "The n players above and n below a player in an instance, the player among them",
  request: {
    params: InstancePlayerParamsSchema,
    query: InstanceQuerySchema.extend({ n: z.coerce.number().int().min(0).max(50).default(5) }),
  },
  responses: {
    200: {
      description: "The neighbourhood",
      content: { "application/json": { schema: InstanceEntriesSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerGetTournamentAround(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { id, player } = c.req.valid("param");
    const query = c.req.valid("query");
    const { tournament, instance, reads } = await instanceOf(c, id, query.instance);
    const around = await readInstanceAround(reads, tournament, instance.key, player, query.n);
    if (!around)
      throw new ApiError(
        "NOT_FOUND",
        `Player "${player}" has no score in "${id}" instance ${instance.key}`,
      );
    const { source, ...rest } = around;
    c.header("x-rank-source", source);
    c.header("cache-control", "no-store");
    return c.json(rest, 200);
  });
}
