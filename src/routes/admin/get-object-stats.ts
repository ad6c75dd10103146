import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { boardPeriodOf } from "../leaderboards/board-period";
import { BoardParamsSchema, PeriodQuerySchema } from "../leaderboards/schema";

const ObjectStatsSchema = z
  .object({
    board: z.string(),
    periodKey: z.string(),
    held: z.number().int(),
    total: z.number().int(),
    complete: z.boolean(),
    reads: z.number().int().openapi({ description: "Read calls since the object last started" }),
    sockets: z.number().int().openapi({ description: "Always 0: live sockets sit on relays" }),
    relays: z.number().int().openapi({ description: "Live relays subscribed to this object" }),
    relayPushes: z.number().int(),
    writtenAt: z.number().int(),
    lastRebuildAt: z.number().int().nullable(),
  })
  .openapi("ObjectStats");

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/leaderboards/{board}/object",
  tags: ["admin"],
  summary: "The board-period's Durable Object: what it holds, its read calls and live relays",
  request: { params: BoardParamsSchema, query: PeriodQuerySchema },
  responses: {
    200: { description: "Stats", content: { "application/json": { schema: ObjectStatsSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

/** For operators and `npm run sim`: the load on one board-period's object, counted by itself. */
export function registerGetObjectStats(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board: boardId } = c.req.valid("param");
    const { board, periodKey } = await boardPeriodOf(c, boardId, c.req.valid("query"));
    const stats = await c.get("stores").leaderboard(board.id, periodKey).stats();
    return c.json(
      {
        board: board.id,
        periodKey,
        held: stats.held,
        total: stats.total,
        complete: stats.complete,
        reads: stats.reads,
        sockets: stats.sockets,
        relays: stats.relays,
        relayPushes: stats.relayPushes,
        writtenAt: stats.writtenAt,
        lastRebuildAt: stats.lastRebuildAt,
      },
      200,
    );
  });
}
