import { count } from "../lib/metrics";

/**
 * Leaderboard responses cached per PoP with the Workers Cache API (and the hottest in isolate
 * memory while fresh), with stale-while-revalidate
 * done by hand (the Cache API ignores SWR directives):
 *  - each stored response carries the time it was produced (`x-edge-cached-at`) and its ETag;
 *  - younger than `freshSeconds`: served as is;
 *  - older, but within `staleSeconds` more: served at once, and ONE background refresh per key
 *    runs (an in-flight map de-duplicates them in this isolate);
 *  - missing: concurrent callers in this isolate share one origin load (single flight), so a
 *    burst of cold requests becomes one Durable Object read, never a query storm.
 * The Cache API keeps an entry for fresh + stale seconds (its own max-age); freshness is ours.
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

const CACHED_AT = "x-edge-cached-at";
/**
 * Origin loads in this isolate, by cache key: the single-flight table. A finished load stays
 * usable for JUST_LOADED_MS, because a request whose cache lookup started just before the
 * result was stored would otherwise miss both the cache and the table and load again.
 */
const inflight = new Map<string, { promise: Promise<CachedBody>; settledAt?: number }>();
const JUST_LOADED_MS = 1_000;

/**
 * Tier 1, in front of the Cache API: the hottest pages in this isolate's memory while they are
 * fresh (a few seconds). A hot board is read many times per second per isolate; answering those
 * from memory skips the Cache API lookup and body read. Bounded, oldest entry evicted first; it
 * holds plain strings only.
 */
const MEMORY_ENTRIES = 256;
const memory = new Map<string, { entry: CachedBody; producedAt: number }>();

function remember(id: string, entry: CachedBody, producedAt: number): void {
  memory.delete(id);
  memory.set(id, { entry, producedAt });
  if (memory.size > MEMORY_ENTRIES) {
    const oldest = memory.keys().next().value;
    if (oldest !== undefined) memory.delete(oldest);
  }
}

function current(id: string): Promise<CachedBody> | undefined {
  const entry = inflight.get(id);
  if (!entry) return undefined;
  if (entry.settledAt !== undefined && Date.now() - entry.settledAt > JUST_LOADED_MS) {
    inflight.delete(id);
    return undefined;
  }
  return entry.promise;
}

async function etagOf(body: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(body));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `W/"${hex.slice(0, 20)}"`;
}

async function store(cache: Cache, key: Request, loaded: { status: number; body: string }, options: CacheOptions): Promise<CachedBody> {
  const etag = await etagOf(loaded.body);
  const entry: CachedBody = { ...loaded, etag };
  if (loaded.status === 200) {
    const response = new Response(loaded.body, {
      status: 200,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "cache-control": `public, max-age=${options.freshSeconds + options.staleSeconds}`,
        etag,
        [CACHED_AT]: String(Date.now()),
      },
    });
    await cache.put(key, response);
    remember(key.url, entry, Date.now());
  }
  return entry;
}

/** One origin load per key at a time in this isolate; the result is stored before callers see it. */
function loadOnce(
  cache: Cache,
  key: Request,
  load: () => Promise<{ status: number; body: string }>,
  options: CacheOptions,
): Promise<CachedBody> {
  const id = key.url;
  let pending = current(id);
  if (!pending) {
    const entry: { promise: Promise<CachedBody>; settledAt?: number } = { promise: Promise.resolve() as unknown as Promise<CachedBody> };
    entry.promise = load()
      .then((loaded) => store(cache, key, loaded, options))
      .then(
        (result) => {
          entry.settledAt = Date.now();
          return result;
        },
        (error: unknown) => {
          // A failed load is not remembered: the next request tries the origin again.
          if (inflight.get(id) === entry) inflight.delete(id);
          throw error;
        },
      );
    inflight.set(id, entry);
    pending = entry.promise;
  }
  return pending;
}

export type CacheOutcome = "hit" | "stale" | "miss" | "bypass";

/**
 * Returns the cached body for `cacheKey` (a URL naming the resource, query normalised by the
 * caller), loading it through `load` on a miss. Errors of the cache itself fall back to the
 * origin: a cache problem must never fail a read.
 */
export async function cachedJson(
  cacheKey: string,
  load: () => Promise<{ status: number; body: string }>,
  options: CacheOptions,
): Promise<CachedBody & { outcome: CacheOutcome; ageSeconds: number }> {
  if (options.bypass) {
    const loaded = await load();
    return { ...loaded, etag: await etagOf(loaded.body), outcome: "bypass", ageSeconds: 0 };
  }
  const key = new Request(cacheKey, { method: "GET" });
  const hot = memory.get(key.url);
  if (hot) {
    const ageSeconds = (Date.now() - hot.producedAt) / 1000;
    if (ageSeconds < options.freshSeconds) {
      count("cacheHit");
      return { ...hot.entry, outcome: "hit", ageSeconds };
    }
  }
  const cache = await caches.open("leaderboards");
  let cached: Response | undefined;
  try {
    cached = await cache.match(key);
  } catch {
    cached = undefined;
  }
  if (cached) {
    const producedAt = Number(cached.headers.get(CACHED_AT) ?? 0);
    const ageSeconds = Math.max(0, (Date.now() - producedAt) / 1000);
    const body = await cached.text();
    const etag = cached.headers.get("etag") ?? (await etagOf(body));
    if (ageSeconds < options.freshSeconds) {
      count("cacheHit");
      remember(key.url, { status: 200, body, etag }, producedAt);
      return { status: 200, body, etag, outcome: "hit", ageSeconds };
    }
    if (ageSeconds < options.freshSeconds + options.staleSeconds) {
      count("cacheStale");
      if (!current(key.url)) {
        count("cacheRevalidated");
        options.waitUntil(loadOnce(cache, key, load, options).catch(() => undefined));
      }
      return { status: 200, body, etag, outcome: "stale", ageSeconds };
    }
  }
  count("cacheMiss");
  const fresh = await loadOnce(cache, key, load, options);
  return { ...fresh, outcome: "miss", ageSeconds: 0 };
}

/** True when the client's If-None-Match names this ETag (weak comparison, lists and *). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}
