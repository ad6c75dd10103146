import { count } from "../../lib/metrics";
import { EdgeTier } from "./edge";
import { type Resolved, SwrCache } from "./swr";

/**
 * The page namespace: leaderboard responses cached per PoP in the Cache API, the hottest also in
 * isolate memory, stored as the response text with its ETag so a hit is served without a JSON
 * parse. Stale-while-revalidate is done here because the Cache API ignores SWR directives: a
 * copy older than `freshSeconds` but within `staleSeconds` more is served at once while one
 * background refresh runs, and concurrent misses in an isolate share one origin load (a burst of
 * cold requests becomes one Durable Object read), through the core's polled flights.
 */
export interface CachedBody {
  status: number;
  body: string;
  etag: string;
}

export interface CacheOptions {
  freshSeconds: number;
  staleSeconds: number;
  waitUntil: (promise: Promise<unknown>) => void;
  /** Load from the origin without reading or writing the cache (development measurements). */
  bypass?: boolean;
}

export type CacheOutcome = "hit" | "stale" | "miss" | "bypass";

const edge = new EdgeTier("leaderboards", "x-edge-cached-at");

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
    if (loaded.status === 200) {
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
  const freshMs = options.freshSeconds * 1000;
  const hot = pages.peek(key, since, freshMs);
  if (hot?.value) {
    count("cacheHit");
    return { ...hot.value, outcome: "hit", ageSeconds: (Date.now() - hot.producedAt) / 1000 };
  }
  const copy = await edge.read(key);
  if (copy) {
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
