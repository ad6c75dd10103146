import { BoundedMap } from "../../lib/bounded-map";
import { count } from "../../lib/metrics";
import { EdgeTier } from "./edge";
import { type Resolved, SwrCache } from "./swr";

/**
 * The page cache, one interface over two implementations (docs/architecture.md, "Caching"):
 *  - "workers-cache" (staging, production): Workers Cache sits in front of the Worker, stores the
 *    page by its Cache-Control, Cache-Tag and ETag headers and serves hits without running the
 *    Worker; the consumer purges a board-period's tag when its records change. The Worker only
 *    sees misses, and concurrent misses in an isolate share one origin load.
 *  - "stand-in" (development, tests: neither workerd nor Miniflare has Workers Cache): the same
 *    behaviour built on the per-PoP Cache API plus isolate memory, stored as the response text
 *    with its ETag so a hit is served without a JSON parse. It does stale-while-revalidate itself
 *    (the Cache API ignores SWR directives) and honours purges made in this isolate.
 */
export type PageCacheMode = "workers-cache" | "stand-in";

export const pageCacheMode = (env: { PAGE_CACHE?: string }): PageCacheMode =>
  env.PAGE_CACHE === "workers-cache" ? "workers-cache" : "stand-in";

/** A page's tags: every page of the board, and every page of the board-period. */
export const pageTags = (boardId: string, periodKey: string): string[] => [
  `lb:${boardId}`,
  `lb:${boardId}:${periodKey}`,
];
export interface CachedBody {
  status: number;
  body: string;
  etag: string;
}

export interface CacheOptions {
  mode: PageCacheMode;
  /** The page's tags (pageTags): a purge of any of them makes the next read load it again. */
  tags: string[];
  freshSeconds: number;
  staleSeconds: number;
  waitUntil: (promise: Promise<unknown>) => void;
  /** Load from the origin without reading or writing the cache (development measurements). */
  bypass?: boolean;
}

export type CacheOutcome = "hit" | "stale" | "miss" | "bypass";

const edge = new EdgeTier("leaderboards", "x-edge-cached-at");

/** The stand-in's purges: when each tag was last purged in this isolate (epoch ms). */
const purgedAt = new BoundedMap<string, number>(10_000);
const purgedSince = (tags: readonly string[], producedAt: number) =>
  tags.some((tag) => (purgedAt.get(tag) ?? Number.NEGATIVE_INFINITY) >= producedAt);

/**
 * Purges the pages of these board-periods: one call for all of them (a consumer batch makes at
 * most one purge, whatever its size). With Workers Cache, every PoP's next read of them runs the
 * Worker; in the stand-in, this isolate's next read loads them again.
 */
export async function purgePages(
  env: { PAGE_CACHE?: string },
  cache: CacheContext | undefined,
  boardPeriods: ReadonlyArray<{ boardId: string; periodKey: string }>,
): Promise<number> {
  const tags = [...new Set(boardPeriods.map((bp) => pageTags(bp.boardId, bp.periodKey)[1]))];
  return purgeTags(env, cache, tags as string[]);
}

/**
 * Purges every page of a board, all periods (its `lb:<board>` tag): after an archive or an edit
 * that a cached page must not outlive.
 */
export function purgeBoardPages(
  env: { PAGE_CACHE?: string },
  cache: CacheContext | undefined,
  boardId: string,
): Promise<number> {
  return purgeTags(env, cache, [`lb:${boardId}`]);
}

async function purgeTags(
  env: { PAGE_CACHE?: string },
  cache: CacheContext | undefined,
  tags: string[],
): Promise<number> {
  if (tags.length === 0) return 0;
  if (pageCacheMode(env) === "workers-cache" && cache) {
    for (let i = 0; i < tags.length; i += PURGE_MAX_TAGS) {
      await cache.purge({ tags: tags.slice(i, i + PURGE_MAX_TAGS) });
    }
  } else {
    const now = Date.now();
    for (const tag of tags) if (tag) purgedAt.set(tag, now);
  }
  count("pagePurges");
  return tags.length;
}

/** Tags per purge call: the zone purge API's 100 operations per request, as the safe bound. */
const PURGE_MAX_TAGS = 100;

/**
 * Loads are not retried after a failure on a timer: the next request asks the origin again,
 * and only the current waiters fail with the error. The memory tier holds the hottest pages;
 * lifetimes come per call from the board's TTL.
 */
const pages = new SwrCache<CachedBody>({
  freshMs: 0,
  staleMs: 0,
  negativeMs: 0,
  staleIfErrorMs: 0,
  retryAfterMs: 0,
  // Longer than any healthy origin load (a rebuild from Postgres takes a few seconds at most).
  loadWaitMs: 5_000,
  maxPollMs: 20,
  maxEntries: 256,
  what: "loading a page",
});

async function etagOf(body: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(body));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `W/"${hex.slice(0, 20)}"`;
}

type Origin = () => Promise<{ status: number; body: string }>;

/** The origin load of one page: tagged, and stored in the PoP when it is a 200. */
function loaderOf(key: string, load: Origin, options: CacheOptions) {
  return async () => {
    const loaded = await load();
    const etag = await etagOf(loaded.body);
    const producedAt = Date.now();
    if (loaded.status === 200 && options.mode === "stand-in") {
      await edge.write(key, loaded.body, {
        producedAt,
        keepSeconds: options.freshSeconds + options.staleSeconds,
        headers: { "content-type": "application/json; charset=utf-8", etag },
      });
    }
    // Fresh from when it was produced, like a copy in the PoP.
    return { found: [{ key, value: { ...loaded, etag }, producedAt, fetchedAt: producedAt }] };
  };
}

const failWith = (failures: Array<{ error: unknown }>): never => {
  throw failures[0]?.error;
};

/**
 * Returns the cached body for `cacheKey` (a URL naming the resource, query normalised by the
 * caller), loading it through `load` on a miss. Errors of the cache itself fall back to the
 * origin: a cache problem must never fail a read.
 */
export async function cachedJson(
  cacheKey: string,
  load: Origin,
  options: CacheOptions,
): Promise<CachedBody & { outcome: CacheOutcome; ageSeconds: number }> {
  if (options.bypass) {
    const loaded = await load();
    return { ...loaded, etag: await etagOf(loaded.body), outcome: "bypass", ageSeconds: 0 };
  }
  const since = Date.now();
  const key = new Request(cacheKey, { method: "GET" }).url;
  if (options.mode === "workers-cache") {
    // Workers Cache answered hits before the Worker ran: this is a miss. Concurrent misses in
    // the isolate still share one load (nothing is kept after it: a purge elsewhere could not
    // reach this isolate's memory).
    const loader = loaderOf(key, load, options);
    const resolved = (
      await pages.resolve([key], loader, { since, freshMs: 0, staleMs: 0, unavailable: failWith })
    ).get(key);
    if (!resolved) throw new Error(`the page cache resolved nothing for ${key}`);
    count("cacheMiss");
    return { ...resolved.value, outcome: "miss", ageSeconds: 0 };
  }
  const freshMs = options.freshSeconds * 1000;
  const held = pages.peek(key, since, Number.POSITIVE_INFINITY);
  if (held && purgedSince(options.tags, held.producedAt)) pages.delete(key);
  const hot = pages.peek(key, since, freshMs);
  if (hot?.value) {
    count("cacheHit");
    return { ...hot.value, outcome: "hit", ageSeconds: (Date.now() - hot.producedAt) / 1000 };
  }
  const copy = await edge.read(key);
  if (copy && !purgedSince(options.tags, copy.producedAt)) {
    const etag = copy.headers.get("etag") ?? (await etagOf(copy.body));
    pages.offer(key, { status: 200, body: copy.body, etag }, copy.producedAt);
  }
  const resolveOptions = {
    since,
    freshMs,
    staleMs: options.staleSeconds * 1000,
    waitUntil: options.waitUntil,
    unavailable: failWith,
  };
  let page: Resolved<CachedBody>;
  try {
    const loader = loaderOf(key, load, options);
    const resolved = (await pages.resolve([key], loader, resolveOptions)).get(key);
    if (!resolved) throw new Error(`the page cache resolved nothing for ${key}`);
    page = resolved;
  } catch (error) {
    count("cacheMiss");
    throw error;
  }
  const ageSeconds = Math.max(0, (Date.now() - page.producedAt) / 1000);
  if (page.how === "loaded") {
    count("cacheMiss");
    return { ...page.value, outcome: "miss", ageSeconds: 0 };
  }
  if (page.how === "stale") {
    count("cacheStale");
    if (page.revalidating) count("cacheRevalidated");
    return { ...page.value, outcome: "stale", ageSeconds };
  }
  count("cacheHit");
  return { ...page.value, outcome: "hit", ageSeconds };
}

/** True when the client's If-None-Match names this ETag (weak comparison, lists and *). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}
