import type { OpenAPIHono } from "@hono/zod-openapi";
import { readPlayers } from "../../services/leaderboards/reads";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { boardPeriodOf } from "./board-period";
import { BoardParamsSchema, EntriesSchema, PeriodQuerySchema, PlayersBodySchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "post",
  path: "/v1/leaderboards/{board}/players",
  tags: ["leaderboards"],
  summary: "Several players' records (friends), ranked; players without a score are left out",
  request: {
    params: BoardParamsSchema,
    query: PeriodQuerySchema,
    body: { required: true, content: { "application/json": { schema: PlayersBodySchema } } },
  },
  responses: {
    200: {
      description: "Their records, best first",
      content: { "application/json": { schema: EntriesSchema } },
    },
    ...errorResponses(400, 404, 415, 503),
  },
});

export function registerPostPlayers(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board: boardId } = c.req.valid("param");
    const query = c.req.valid("query");
    const { board, period, periodKey, reads } = await boardPeriodOf(c, boardId, query);
    const ids = [...new Set(c.req.valid("json").playerIds)];
    const result = await readPlayers(reads, board, periodKey, ids);
    c.header("cache-control", "no-store");
    return c.json(
      { board: board.id, period, periodKey, total: result.total, entries: result.entries },
      200,
    );
  });
}
