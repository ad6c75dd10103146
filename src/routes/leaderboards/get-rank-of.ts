import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { readRankForScore } from "../../services/leaderboards/reads";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { boardPeriodOf } from "./board-period";
import { BoardParamsSchema, PeriodQuerySchema, RankOfSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/leaderboards/{board}/rank-of",
  tags: ["leaderboards"],
  summary: "The rank a score would get now (a dry run: nothing is written)",
  request: {
    params: BoardParamsSchema,
    query: PeriodQuerySchema.extend({
      score: z.coerce
        .number()
        .int("must be an integer")
        .min(Number.MIN_SAFE_INTEGER)
        .max(Number.MAX_SAFE_INTEGER),
    }),
  },
  responses: {
    200: { description: "The rank", content: { "application/json": { schema: RankOfSchema } } },
    ...errorResponses(400, 404, 503),
  },
});

export function registerGetRankOf(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board: boardId } = c.req.valid("param");
    const query = c.req.valid("query");
    const { board, period, periodKey, reads } = await boardPeriodOf(c, boardId, query);
    const result = await readRankForScore(reads, board, periodKey, query.score);
    c.header("x-rank-source", result.source);
    return c.json(
      {
        board: board.id,
        period,
        periodKey,
        score: query.score,
        rank: result.rank,
        total: result.total,
      },
      200,
    );
  });
}
