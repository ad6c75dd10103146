import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { removeRecords } from "../../services/moderation/actions";
import { guardedRoute } from "../access";
import { BoardIdSchema } from "../boards/schema";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { moderationContext } from "./moderation-context";
import { PlayerIdSchema, RemovalSchema, RemoveQuerySchema } from "./moderation-schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "delete",
  path: "/v1/admin/boards/{board}/players/{player}",
  tags: ["admin", "moderation"],
  summary: "Delete a player's records from a board: one period, or all of them (audited)",
  description:
    "The records leave Postgres, the board's Durable Objects, Redis and the cached pages before " +
    "the answer; totals count them no more. A later event of the player may create a record " +
    "again (removal is not a ban: POST /v1/admin/players/:player/ban). Removing nothing is a " +
    "200 with removed 0, audited too.",
  request: {
    params: z.object({ board: BoardIdSchema, player: PlayerIdSchema }),
    query: RemoveQuerySchema,
  },
  responses: {
    200: {
      description: "Removed",
      content: { "application/json": { schema: RemovalSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerDeletePlayerRecords(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board, player } = c.req.valid("param");
    const { period, reason } = c.req.valid("query");
    const result = await removeRecords(moderationContext(c), {
      boardId: board,
      periodKey: period ?? null,
      playerId: player,
      reason: reason ?? null,
    });
    c.header("cache-control", "no-store");
    return c.json(
      {
        playerId: player,
        boardId: board,
        periodKey: period ?? null,
        removed: result.removed,
        boardPeriods: result.boardPeriods,
        auditId: String(result.audit.id),
      },
      200,
    );
  });
}
