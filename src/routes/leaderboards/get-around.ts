import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { readAround } from "../../services/leaderboards/reads";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { boardPeriodOf } from "./board-period";
import { EntriesSchema, PeriodQuerySchema, PlayerParamsSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/leaderboards/{board}/players/{player}/around",
  tags: ["leaderboards"],
  summary: "The n players above and n below a player (fewer at the edges), the player among them",
  request: {
    params: PlayerParamsSchema,
    query: PeriodQuerySchema.extend({ n: z.coerce.number().int().min(0).max(50).default(5) }),
  },
  responses: {
    200: {
      description: "The neighbourhood",
      content: { "application/json": { schema: EntriesSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerGetAround(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board: boardId, player } = c.req.valid("param");
    const query = c.req.valid("query");
    const { board, period, periodKey, reads } = await boardPeriodOf(c, boardId, query);
    const around = await readAround(reads, board, periodKey, player, query.n);
    if (!around)
      throw new ApiError(
        "NOT_FOUND",
        `Player "${player}" has no score on "${board.id}" for ${period} ${periodKey}`,
      );
    c.header("x-rank-source", around.source);
    c.header("cache-control", "no-store");
    return c.json(
      { board: board.id, period, periodKey, total: around.total, entries: around.entries },
      200,
    );
  });
}
