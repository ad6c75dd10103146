import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { connectLiveFeed } from "../../services/leaderboards/live-feed";
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
    "WebSocket: the top `limit` on connect, then its changes (at most 4 messages/s); " +
    "protocol in docs/design.md, Live feed",
  request: {
    params: BoardParamsSchema,
    query: PeriodQuerySchema.extend({ limit: z.coerce.number().int().min(1).max(100).default(10) }),
  },
  responses: { 101: { description: "Switching protocols" }, ...errorResponses(400, 404, 426, 503) },
});

/**
 * Hands the upgrade to one of the board-period's LiveRelay objects, which keeps the socket
 * (hibernatable); the board's LeaderboardDO holds none.
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
    return connectLiveFeed(c.get("stores"), board.id, periodKey, query.limit, c.req.raw);
  });
}
