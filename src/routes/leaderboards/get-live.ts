import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { acceptanceWindow, selectPeriod } from "../../services/leaderboards/period-selection";
import { guardedRoute, readableBoard } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { BoardParamsSchema, PeriodQuerySchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/leaderboards/{board}/live",
  tags: ["leaderboards"],
  summary:
    "WebSocket: the top `limit` on connect, then again whenever it changes (at most 4 messages/s)",
  request: {
    params: BoardParamsSchema,
    query: PeriodQuerySchema.extend({ limit: z.coerce.number().int().min(1).max(100).default(10) }),
  },
  responses: { 101: { description: "Switching protocols" }, ...errorResponses(400, 404, 426) },
});

/**
 * Hands the upgrade to the board-period's Durable Object, which keeps the socket (hibernatable).
 */
export function registerGetLeaderboardLive(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(
        "UPGRADE_REQUIRED",
        "Open this URL as a WebSocket (Upgrade: websocket)",
        undefined,
        { upgrade: "websocket" },
      );
    }
    const { board: boardId } = c.req.valid("param");
    const query = c.req.valid("query");
    if (query.at !== undefined && query.at !== "current") {
      throw new ApiError(
        "BAD_REQUEST",
        "A live feed follows the current period; " +
          "read past periods with GET /v1/leaderboards/{board}?at=",
      );
    }
    const board = await readableBoard(c, boardId);
    const { periodKey } = selectPeriod(board, query.period, query.at, acceptanceWindow(c.env));
    const url = new URL(c.req.url);
    url.search = `?limit=${query.limit}`;
    const response = await c
      .get("stores")
      .leaderboard(board.id, periodKey)
      .fetch(new Request(url, c.req.raw));
    if (response.status !== 101)
      throw new ApiError(
        "BAD_REQUEST",
        `The live feed refused the connection (${response.status})`,
      );
    return response;
  });
}
