import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { unban } from "../../services/moderation/actions";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { moderationContext } from "./moderation-context";
import { PlayerIdSchema, UnbanQuerySchema, UnbanSchema } from "./moderation-schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "delete",
  path: "/v1/admin/players/{player}/ban",
  tags: ["admin", "moderation"],
  summary: "Lift a player's ban: the held records return to their boards (audited)",
  description:
    "Records removed while banned stay removed; events sent while banned were refused and stay " +
    "so. 404 when the player is not banned.",
  request: { params: z.object({ player: PlayerIdSchema }), query: UnbanQuerySchema },
  responses: {
    200: { description: "Unbanned", content: { "application/json": { schema: UnbanSchema } } },
    ...errorResponses(400, 404, 503),
  },
});

export function registerDeleteBan(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { player } = c.req.valid("param");
    const result = await unban(moderationContext(c), player, c.req.valid("query").reason ?? null);
    c.header("cache-control", "no-store");
    return c.json(
      {
        playerId: player,
        restored: result.restored.length,
        boardPeriods: result.boardPeriods,
        auditId: String(result.audit.id),
      },
      200,
    );
  });
}
