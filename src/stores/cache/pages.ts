import { BoundedMap } from "../../lib/bounded-map";
import { count } from "../../lib/metrics";

/**
 * Leaderboard responses cached per PoP with the Workers Cache API (and the hottest in isolate
 * memory while fresh), with stale-while-revalidate
 * done by hand (the Cache API ignores SWR directives):
 *  - each stored response carries the time it was produced (`x-edge-cached-at`) and its ETag;
 *  - younger than `freshSeconds`: served as is;
 *  - older, but within `staleSeconds` more: served at once, and ONE background refresh per key
 *    runs (an in-flight map de-duplicates them in this isolate);
 *  - missing: concurrent callers in this isolate share one origin load (single flight), so a
 *    burst of cold requests becomes one Durable Object read, never a query storm; they share it
 *    through a table of plain data, never by awaiting one another's promises (see `flights`).
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
 * The single-flight table: origin loads in this isolate, by cache key. It holds plain data only,
 * never a promise. In Workers a promise belongs to the request whose I/O settles it: a request that
 * awaited another request's load would hang for good when that request is cancelled (a client
 * disconnecting) or ends first, and workerd kills such a waiter as hung (a plain-text 500). So the
 * request that starts a load runs it in its own context and writes the result here; concurrent
 * requests for the key poll this entry (their own timers) until it has a result, and load
 * themselves if it fails or goes unanswered for LOAD_WAIT_MS.
 *
 * A finished load's result stays in the table: a request whose cache lookup started before the
 * result was stored (a Cache API lookup can take long in a burst) would otherwise miss both the
 * cache and the table and load again. It takes a result settled after its own start, which is at
 * least as new as anything it could have found.
 */
interface Flight {
  /** When the load started (epoch ms). */
  readonly startedAt: number;
  result?: CachedBody;
  settledAt?: number;
  /** The load failed: its waiters fail with the same error (one failing origin call, not one each). */
  error?: unknown;
}
const flights = new Map<string, Flight>();
/**
 * The longest a request waits for another request's load before loading itself: longer than any
 * healthy origin load (a Durable Object read; a rebuild from Postgres takes a few seconds at most),
 * short enough that a load abandoned by a cancelled request costs its waiters only this much. At most
 * one extra load per key per LOAD_WAIT_MS when an origin is slower than that.
 */
const LOAD_WAIT_MS = 5_000;
/** Above this many keys, flights finished or abandoned KEEP_MS ago are swept (the table stays small). */
const FLIGHTS_SWEEP_AT = 1_024;
const KEEP_MS = 10_000;

/** A load of `id` by some request that is still running and not yet abandoned. */
function loading(id: string, now = Date.now()): Flight | undefined {
  const flight = flights.get(id);
  return flight && flight.settledAt === undefined && now - flight.startedAt < LOAD_WAIT_MS ? flight : undefined;
}

/** A result some request produced at or after `since` (the caller's own start), if any. */
function loadedSince(id: string, since: number): CachedBody | undefined {
  const flight = flights.get(id);
  return flight?.settledAt !== undefined && flight.settledAt >= since ? flight.result : undefined;
}

function sweepFlights(now: number): void {
  if (flights.size < FLIGHTS_SWEEP_AT) return;
  for (const [id, flight] of flights)
    if (now - (flight.settledAt ?? flight.startedAt) >= Math.max(KEEP_MS, LOAD_WAIT_MS)) flights.delete(id);
}

/** A pause on this request's own timer; waiting is polling, from 2 ms up to 20 ms between looks (a waiter answers at most 20 ms after the load). */
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Tier 1, in front of the Cache API: the hottest pages in this isolate's memory while they are
 * fresh (a few seconds). A hot board is read many times per second per isolate; answering those
 * from memory skips the Cache API lookup and body read. Bounded, oldest entry evicted first; it
 * holds plain strings only.
 */
const memory = new BoundedMap<string, { entry: CachedBody; producedAt: number }>(256);

const remember = (id: string, entry: CachedBody, producedAt: number) => memory.set(id, { entry, producedAt });

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

/**
 * One origin load per key at a time in this isolate; the result is stored before callers see it.
 * The caller either runs the load itself or waits for another request's by polling the flight
 * table (see `flights`): it never awaits a promise another request created.
 */
async function loadOnce(
  cache: Cache,
  key: Request,
  load: () => Promise<{ status: number; body: string }>,
  options: CacheOptions,
  since: number,
): Promise<CachedBody> {
  const id = key.url;
  for (let wait = 2; ; wait = Math.min(wait * 2, 20)) {
    const now = Date.now();
    const done = loadedSince(id, since);
    if (done) return done;
    const other = loading(id, now);
    if (!other) return loadHere(cache, key, load, options);
    await pause(wait);
    if (other.error !== undefined) throw other.error;
  }
}

/** Runs the origin load in this request and publishes its result (plain data) to the flight table. */
async function loadHere(
  cache: Cache,
  key: Request,
  load: () => Promise<{ status: number; body: string }>,
  options: CacheOptions,
): Promise<CachedBody> {
  const id = key.url;
  const now = Date.now();
  sweepFlights(now);
  const flight: Flight = { startedAt: now };
  flights.set(id, flight);
  try {
    const result = await store(cache, key, await load(), options);
    flight.result = result;
    flight.settledAt = Date.now();
    return result;
  } catch (error) {
    // A failed load is not remembered: the next request tries the origin again. Its current
    // waiters fail with it.
    flight.error = error;
    flight.settledAt = Date.now();
    if (flights.get(id) === flight) flights.delete(id);
    throw error;
  }
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
  const since = Date.now();
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
      if (!loading(key.url)) {
        count("cacheRevalidated");
        options.waitUntil(loadOnce(cache, key, load, options, since).catch(() => undefined));
      }
      return { status: 200, body, etag, outcome: "stale", ageSeconds };
    }
  }
  count("cacheMiss");
  const fresh = await loadOnce(cache, key, load, options, since);
  return { ...fresh, outcome: "miss", ageSeconds: 0 };
}

/** True when the client's If-None-Match names this ETag (weak comparison, lists and *). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}
