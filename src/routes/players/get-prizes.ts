import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { actingFor } from "../../services/tournaments/join";
import { listPrizes } from "../../services/tournaments/prizes";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { PlayerIdSchema } from "../leaderboards/schema";
import { PrizeSchema } from "../tournaments/schema";

const route = guardedRoute({
  access: { credential: "player-read", rateLimit: "read" },
  method: "get",
  path: "/v1/players/{player}/prizes",
  tags: ["players", "tournaments"],
  summary: "A player's prizes, pending (unclaimed) or claimed, oldest first",
  request: {
    params: z.object({ player: PlayerIdSchema }),
    query: z.object({
      status: z.enum(["pending", "claimed"]).default("pending"),
      limit: z.coerce.number().int().min(1).max(100).default(25),
      cursor: z
        .string()
        .regex(/^[1-9]\d{0,15}$/, "a nextCursor")
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "Prizes",
      content: {
        "application/json": {
          schema: z
            .object({ prizes: z.array(PrizeSchema), nextCursor: z.string().nullable() })
            .openapi("PrizeList"),
        },
      },
    },
    ...errorResponses(400, 503),
  },
});

export function registerGetPrizes(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { player } = c.req.valid("param");
    actingFor(c.get("caller"), player);
    const page = await listPrizes(c.get("stores").db(), player, c.req.valid("query"));
    c.header("cache-control", "no-store");
    return c.json(page, 200);
  });
}
