import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { readPlayerRanks } from "../../services/leaderboards/player-ranks";
import { guardedRoute, readsPrivateBoards } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { PlayerIdSchema, PlayerRankSchema } from "../leaderboards/schema";

const PlayerRanksSchema = z
  .object({
    playerId: z.string(),
    ranks: z.array(PlayerRankSchema.omit({ playerId: true, displayName: true })),
  })
  .openapi("PlayerRanks");

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/players/{player}/ranks",
  tags: ["players"],
  summary: "The player's score and rank on every board and current period they appear on",
  request: { params: z.object({ player: PlayerIdSchema }) },
  responses: {
    200: {
      description: "Their ranks (empty when they have none)",
      content: { "application/json": { schema: PlayerRanksSchema } },
    },
    ...errorResponses(400, 503),
  },
});

export function registerGetPlayerRanks(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { player } = c.req.valid("param");
    const ranks = await readPlayerRanks(
      c.get("stores"),
      player,
      readsPrivateBoards(c.get("caller")),
    );
    c.header("cache-control", "no-store");
    return c.json({ playerId: player, ranks }, 200);
  });
}
