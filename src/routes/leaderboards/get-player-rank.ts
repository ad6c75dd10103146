import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppContext } from "../../env";
import { ApiError } from "../../lib/errors";
import { requireBoard } from "../../services/boards";
import { selectPeriod } from "../../services/period-selection";
import { playerRankFromPostgres } from "../../services/postgres-ranks";
import { errorResponses } from "../errors";
import { PeriodQuerySchema, PlayerParamsSchema, PlayerRankSchema } from "./schema";

const route = createRoute({
  method: "get",
  path: "/v1/leaderboards/{board}/players/{player}",
  tags: ["leaderboards"],
  summary: "A player's score, rank, the board's total and the player's percentile",
  request: { params: PlayerParamsSchema, query: PeriodQuerySchema },
  responses: {
    200: { description: "The player's standing", content: { "application/json": { schema: PlayerRankSchema } } },
    ...errorResponses(400, 404),
  },
});

export function registerGetPlayerRank(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board: boardId, player } = c.req.valid("param");
    const query = c.req.valid("query");
    const board = await requireBoard(c.get("db"), boardId);
    const { period, periodKey } = selectPeriod(board, query.period, query.at);
    const standing = await playerRankFromPostgres(c.get("db")(), board.id, periodKey, player);
    if (!standing) throw new ApiError("NOT_FOUND", `Player "${player}" has no score on "${board.id}" for ${period} ${periodKey}`);
    return c.json({ ...standing, board: board.id, period, periodKey }, 200);
  });
}
