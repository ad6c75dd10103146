import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { mintPlayerToken, tokenTtlSeconds } from "../../services/access/player-tokens";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { PlayerIdSchema } from "../leaderboards/schema";

const route = guardedRoute({
  access: { credential: "tokens:mint", rateLimit: "mint" },
  method: "post",
  path: "/v1/players/{player}/tokens",
  tags: ["players"],
  summary: "Mint a player token for a game client (a game server calls this after its own login)",
  description:
    "The token (a JWT, HS256) lets a game client send its own player's events " +
    "and read private boards. Lifetime: ttlSeconds, default PLAYER_TOKEN_TTL_SECONDS (1 h).",
  request: {
    params: z.object({ player: PlayerIdSchema }),
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z
            .object({ ttlSeconds: z.number().int().min(60).max(86_400).optional() })
            .openapi("MintToken"),
        },
      },
    },
  },
  responses: {
    201: {
      description: "Minted",
      content: {
        "application/json": {
          schema: z.object({ token: z.string(), expiresAt: z.string() }).openapi("PlayerToken"),
        },
      },
    },
    ...errorResponses(400, 503),
  },
});

export function registerPostToken(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { player } = c.req.valid("param");
    const body = c.req.valid("json") as { ttlSeconds?: number } | undefined;
    const minted = await mintPlayerToken(c.env, player, body?.ttlSeconds ?? tokenTtlSeconds(c.env));
    if (!minted) {
      throw new ApiError(
        "DEPENDENCY_UNAVAILABLE",
        "This deployment mints no player tokens: set the PLAYER_TOKEN_SECRET secret",
      );
    }
    c.header("cache-control", "no-store");
    return c.json({ token: minted.token, expiresAt: minted.expiresAt.toISOString() }, 201);
  });
}
