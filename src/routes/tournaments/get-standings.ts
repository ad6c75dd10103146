import type { OpenAPIHono } from "@hono/zod-openapi";
import { readStandings } from "../../services/tournaments/standings";
import { cachedJson, matchesEtag, pageCacheMode, pageTags } from "../../stores/cache/pages";
import { tournamentBoardId } from "../../stores/postgres/tournaments";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { instanceOf } from "./instance";
import { StandingsPageSchema, StandingsQuerySchema, TournamentParamsSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/tournaments/{id}/leaderboard",
  tags: ["tournaments"],
  summary: "An instance's standings, best first; an ended instance answers its frozen standings",
  description:
    "An open instance is read like a board page (its Durable Object, Redis, Postgres) and cached " +
    "at the edge under the same tags, purged when a score changes it; a finalised one is read " +
    "from its frozen rows.",
  request: { params: TournamentParamsSchema, query: StandingsQuerySchema },
  responses: {
    200: {
      description: "The standings",
      content: { "application/json": { schema: StandingsPageSchema } },
    },
    304: { description: "Not modified (If-None-Match matched the ETag)" },
    ...errorResponses(400, 404, 503),
  },
});

/**
 * Edge freshness, a board's default: an open instance changes with every score (the consumer
 * purges its tags), and an ended one may be finalised at any moment.
 */
const TTL_SECONDS = 2;
/** How long past its TTL a page may be served while one refresh runs (as a board page's). */
const REFRESH_SECONDS = 2;

export function registerGetStandings(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const { tournament, instance, reads } = await instanceOf(c, id, query.instance);
    const cacheKey =
      `https://edge-cache.internal/v1/tournaments/${encodeURIComponent(id)}/${instance.key}` +
      `?limit=${query.limit}&cursor=${encodeURIComponent(query.cursor ?? "")}`;
    const tags = pageTags(tournamentBoardId(id), instance.key);
    const cached = await cachedJson(
      cacheKey,
      async () => ({
        status: 200,
        body: JSON.stringify(await readStandings(reads, tournament, instance.key, query)),
      }),
      {
        mode: pageCacheMode(c.env),
        tags,
        freshSeconds: TTL_SECONDS,
        staleSeconds: REFRESH_SECONDS,
        waitUntil: (p) => c.executionCtx.waitUntil(p),
      },
    );
    // As a board page's: Workers Cache stores it by these, and the consumer's purge of the
    // instance's tag (its hidden board-period) reaches it.
    const headers = {
      "cache-control": `public, max-age=${TTL_SECONDS}, stale-while-revalidate=${REFRESH_SECONDS}`,
      "cache-tag": tags.join(","),
      etag: cached.etag,
      "x-edge-cache": cached.outcome.toUpperCase(),
      age: String(Math.floor(cached.ageSeconds)),
    };
    if (matchesEtag(c.req.header("if-none-match"), cached.etag)) return c.body(null, 304, headers);
    return c.body(cached.body, 200, {
      ...headers,
      "content-type": "application/json; charset=utf-8",
    });
  });
}
