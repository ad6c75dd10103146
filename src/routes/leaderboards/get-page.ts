import type { OpenAPIHono } from "@hono/zod-openapi";
import { decodeCursor, encodeCursor } from "../../domain";
import { ApiError } from "../../lib/errors";
import { readPage, readPageJson } from "../../services/leaderboards/reads";
import { cachedJson, matchesEtag, pageCacheMode, pageTags } from "../../stores/cache/pages";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { boardPeriodOf } from "./board-period";
import { BoardParamsSchema, LeaderboardPageSchema, PageQuerySchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/leaderboards/{board}",
  tags: ["leaderboards"],
  summary: "A page of a leaderboard, best first; cached at the edge",
  description:
    "Pages come from the board's Durable Object (no database query) " +
    "and are cached at the edge (Cache-Tag per board and board-period) until a score changes " +
    "the board-period, for at most the board's cacheTtlSeconds at the edge, " +
    "then served stale for a while as one background refresh runs. " +
    "Send If-None-Match with the ETag for a 304.",
  request: { params: BoardParamsSchema, query: PageQuerySchema },
  responses: {
    200: {
      description: "The page",
      content: { "application/json": { schema: LeaderboardPageSchema } },
    },
    304: { description: "Not modified (If-None-Match matched the ETag)" },
    ...errorResponses(400, 404, 503),
  },
});

/**
 * How long after expiry a page may still be served while one refresh runs: the time a refresh
 * takes at most (an object read, or its rebuild from Postgres), not more. A busy page refreshes in
 * the background with no reader waiting; after a quieter spell the first read waits for the
 * refresh (single flight: one object read however many wait), so no read gets a page older than
 * TTL + this, even if a purge was lost. A change reaches readers sooner anyway: the consumer purges
 * the board-period's pages once the object and Redis have it.
 */
const REFRESH_SECONDS = 2;

export function registerGetPage(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { board: boardId } = c.req.valid("param");
    const query = c.req.valid("query");
    const { board, period, periodKey, reads } = await boardPeriodOf(c, boardId, query);
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (query.cursor && (!cursor || cursor.period !== periodKey)) {
      throw new ApiError(
        "BAD_REQUEST",
        "cursor is not a nextCursor of this board period; start again without it",
      );
    }

    // The key names the resource, not the request: the same page for every client in this PoP.
    const cacheKey =
      `https://edge-cache.internal/v1/leaderboards/${encodeURIComponent(board.id)}/${periodKey}` +
      `?limit=${query.limit}&cursor=${query.cursor ?? ""}`;
    const ttl = board.cacheTtlSeconds;
    const stale = REFRESH_SECONDS;
    const mode = pageCacheMode(c.env);
    const tags = pageTags(board.id, periodKey);
    // Development only: `x-edgeboard-cache: bypass` skips the edge cache (bench:read measures the
    // Durable Object path with it). Never in staging/production, where it would invite stampedes.
    const bypass =
      c.env.ENVIRONMENT === "development" && c.req.header("x-edgeboard-cache") === "bypass";
    const cached = await cachedJson(
      cacheKey,
      async () => {
        const options = {
          limit: query.limit,
          after: cursor
            ? { score: cursor.score, reachedAt: cursor.reachedAt, playerId: cursor.playerId }
            : undefined,
        };
        const cursorAfter = (
          last: { score: number; reachedAt: number; playerId: string } | undefined,
          hasMore: boolean,
        ) =>
          hasMore && last
            ? encodeCursor({
                period: periodKey,
                score: last.score,
                reachedAt: last.reachedAt,
                playerId: last.playerId,
              })
            : null;
        // Inside the top-N the object's serialized entries are spliced in as they are; the
        // key order is the one JSON.stringify gives the slow path below.
        const fast = await readPageJson(reads, board, periodKey, options);
        if (fast) {
          const head = JSON.stringify({ board: board.id, period, periodKey, total: fast.total });
          const nextCursor = JSON.stringify(cursorAfter(fast.last ?? undefined, fast.hasMore));
          return {
            status: 200,
            body: `${head.slice(0, -1)},"entries":${fast.entriesJson},"nextCursor":${nextCursor}}`,
          };
        }
        const page = await readPage(reads, board, periodKey, options);
        const last = page.entries.at(-1);
        const nextCursor = cursorAfter(
          last && { ...last, reachedAt: Date.parse(last.reachedAt) },
          page.hasMore,
        );
        const body = {
          board: board.id,
          period,
          periodKey,
          total: page.total,
          entries: page.entries,
          nextCursor,
        };
        return { status: 200, body: JSON.stringify(body) };
      },
      {
        mode,
        tags,
        freshSeconds: ttl,
        staleSeconds: stale,
        waitUntil: (p) => c.executionCtx.waitUntil(p),
        bypass,
      },
    );

    // Workers Cache stores what Cache-Control allows and purges by Cache-Tag; a private board's
    // page is never stored at the edge, only in the reader's own cache.
    const headers = {
      "cache-control":
        `${board.public ? "public" : "private"}, ` +
        `max-age=${ttl}, stale-while-revalidate=${stale}`,
      ...(board.public ? { "cache-tag": tags.join(",") } : {}),
      etag: cached.etag,
      "x-edge-cache": cached.outcome.toUpperCase(),
      age: String(Math.floor(cached.ageSeconds)),
    };
    if (matchesEtag(c.req.header("if-none-match"), cached.etag)) {
      return c.body(null, 304, headers);
    }
    return c.body(cached.body, 200, {
      ...headers,
      "content-type": "application/json; charset=utf-8",
    });
  });
}
