import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { readPlayerRank } from "../../services/leaderboards/reads";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { boardPeriodOf } from "./board-period";
import { PeriodQuerySchema, PlayerParamsSchema, PlayerRankSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/leaderboards/{board}/players/{player}",
  tags: ["leaderboards"],
  summary: "A player's score, rank, the board's total and the player's percentile",
  description:
    "From Redis (O(log N), one call) for every player it holds; " +
    "from the board's Durable Object (its top-N) or Postgres when Redis cannot answer.",
  request: { params: PlayerParamsSchema, query: PeriodQuerySchema },
  responses: {
    200: {
      description: "The player's standing",
      content: { "application/json": { schema: PlayerRankSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerGetPlayerRank(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board: boardId, player } = c.req.valid("param");
    const query = c.req.valid("query");
    const { board, period, periodKey, reads } = await boardPeriodOf(c, boardId, query);
    const standing = await readPlayerRank(reads, board, periodKey, player);
    if (!standing)
      throw new ApiError(
        "NOT_FOUND",
        `Player "${player}" has no score on "${board.id}" for ${period} ${periodKey}`,
      );
    const { source, ...rest } = standing;
    c.header("x-rank-source", source);
    c.header("cache-control", "no-store");
    return c.json({ ...rest, board: board.id, period, periodKey }, 200);
  });
}
