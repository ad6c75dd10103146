import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ban } from "../../services/moderation/actions";
import { BANS_FRESH_MS } from "../../stores/cache/bans";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { moderationContext } from "./moderation-context";
import { BanRequestSchema, BanSchema, PlayerIdSchema } from "./moderation-schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "post",
  path: "/v1/admin/players/{player}/ban",
  tags: ["admin", "moderation"],
  summary: "Ban a player everywhere: hidden from every board, new events rejected (audited)",
  description:
    "The player's records are held aside (not deleted: an unban brings them back) and leave " +
    "every board's Durable Objects, Redis and cached pages before the answer. Their events are " +
    "rejected per item with PLAYER_BANNED by every server within " +
    `${BANS_FRESH_MS / 1000} s; events already queued move no score. Banning again keeps the ` +
    "first ban (alreadyBanned: true).",
  request: {
    params: z.object({ player: PlayerIdSchema }),
    body: { required: true, content: { "application/json": { schema: BanRequestSchema } } },
  },
  responses: {
    200: { description: "Banned", content: { "application/json": { schema: BanSchema } } },
    ...errorResponses(400, 503),
  },
});

export function registerPostBan(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { player } = c.req.valid("param");
    const result = await ban(moderationContext(c), player, c.req.valid("json").reason);
    c.header("cache-control", "no-store");
    return c.json(
      {
        playerId: player,
        reason: result.ban.reason,
        bannedBy: result.ban.bannedBy,
        bannedAt: result.ban.bannedAt.toISOString(),
        alreadyBanned: result.audit.detail?.alreadyBanned === true,
        hidden: result.hidden.length,
        boardPeriods: result.boardPeriods,
        auditId: String(result.audit.id),
      },
      200,
    );
  });
}
