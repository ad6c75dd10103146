import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { actingFor } from "../../services/tournaments/join";
import { claim } from "../../services/tournaments/prizes";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { PlayerIdSchema } from "../leaderboards/schema";
import { PrizeSchema } from "../tournaments/schema";

const route = guardedRoute({
  access: { credential: "event-write", rateLimit: "write" },
  method: "post",
  path: "/v1/players/{player}/prizes/{prize}/claim",
  tags: ["players", "tournaments"],
  summary: "Claim a prize; idempotent (a second claim answers the same claimed prize)",
  request: {
    params: z.object({
      player: PlayerIdSchema,
      prize: z.string().regex(/^[1-9]\d{0,15}$/, "a prize id"),
    }),
  },
  responses: {
    200: {
      description: "The claimed prize",
      content: { "application/json": { schema: PrizeSchema } },
    },
    ...errorResponses(400, 404, 503),
  },
});

export function registerPostClaim(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { player, prize } = c.req.valid("param");
    actingFor(c.get("caller"), player);
    return c.json(await claim(c.get("stores").db(), player, Number(prize)), 200);
  });
}
