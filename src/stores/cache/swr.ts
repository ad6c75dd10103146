/**
 * The one stale-while-revalidate and single-flight core under every cache namespace (pages, board
 * definitions, credentials). Ours rather than a library's: @unkey/cache makes concurrent callers
 * await the first caller's promise, which workerd kills as a hung request, and loads one key at a
 * time (docs/architecture.md, "Caching").
 */
import { withTimeout } from "../../lib/timeout";
import { MemoryTier } from "./memory";

/** A namespace's lifetimes, all in ms. */
export interface Policy {
  /** Served as is, without loading. */
  freshMs: number;
  /** Past fresh: still served while one caller reloads it. */
  staleMs: number;
  /** An entry saying the origin has no such key is trusted this long. */
  negativeMs: number;
  /** Counted from when the origin produced a value: how long it is served while loads fail. */
  staleIfErrorMs: number;
  /** After a failed load, no new load of the key before this (0: the next caller tries again). */
  retryAfterMs: number;
  /** The longest a caller waits for another request's load before loading itself. */
  loadWaitMs: number;
  /** A load that takes longer counts as failed (unset: only the loader's own timeouts). */
  loadTimeoutMs?: number;
  /** The longest pause between two looks at another request's load. */
  maxPollMs: number;
  /** How many keys the memory tier holds. */
  maxEntries: number;
  /** Names the load in a timeout's message. */
  what: string;
}

export interface Entry<V> {
  /** null: the origin said there is no such key (a negative entry). */
  value: V | null;
  /** When this isolate last had it confirmed: freshness counts from here. */
  fetchedAt: number;
  /** When the origin produced it (earlier for a copy from another tier): stale-if-error. */
  producedAt: number;
}

/**
 * A value some tier found. `fetchedAt` and `producedAt` default to when the load started: the
 * answer is at least that new, and a lifetime counted from there never overstays.
 */
interface Found<V> {
  key: string;
  value: V;
  producedAt?: number;
  fetchedAt?: number;
}

/**
 * What a loader returns. A key in `failed` that is also found is an older copy kept for
 * stale-if-error only; a key in neither list does not exist.
 */
export interface Loaded<V> {
  found: Found<V>[];
  failed?: { keys: string[]; error: unknown };
}
export type Loader<V> = (keys: string[]) => Promise<Loaded<V>>;

/** fresh: within freshMs; stale: past it, or stale-if-error; loaded: by or for this call. */
type How = "fresh" | "stale" | "loaded";
export interface Resolved<V> {
  value: V;
  producedAt: number;
  how: How;
  /** This call started a background reload of the stale value. */
  revalidating?: boolean;
}

export interface ResolveOptions {
  /** The entries' clock (tests place a call in the future); flights and failures use real time. */
  now?: number;
  /** When the caller started (real ms) if before this call: results settled since count. */
  since?: number;
  /** Per-call freshness, for namespaces whose lifetimes vary by key (a board's page TTL). */
  freshMs?: number;
  staleMs?: number;
  /** Given: a stale value is served at once and reloaded after the response, through this. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Receives the keys with nothing usable after a failed load; throws the namespace's error. */
  unavailable: (failures: Array<{ key: string; error: unknown }>) => never;
}

/**
 * A load some request runs for a key. Plain data: a waiter polls it on its own timer and never
 * awaits the loading request's promise, which would hang for good if that request were cancelled
 * or ended first. Settled flights stay a while so a waiter that looks late still sees the error.
 */
interface Flight {
  readonly startedAt: number;
  settledAt?: number;
  failed?: boolean;
  error?: unknown;
}

/** Above this many flights, those settled or abandoned KEEP_MS ago are swept. */
const FLIGHTS_SWEEP_AT = 1_024;
const KEEP_MS = 10_000;

type Verdict<V> =
  | { kind: "value"; resolved: Resolved<V> }
  | { kind: "absent" }
  | { kind: "wait" }
  | { kind: "load" }
  | { kind: "revalidate"; resolved: Resolved<V> }
  | { kind: "failed"; error: unknown };

interface Call {
  /** When the call started, on the entries' clock and in real time. */
  since: number;
  realSince: number;
  /** Keys this call loaded or waited for. */
  involved: Set<string>;
  options: ResolveOptions;
}

const verdictOf = <V>(value: V, producedAt: number, how: How): Verdict<V> => ({
  kind: "value",
  resolved: { value, producedAt, how },
});

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SwrCache<V> {
  private readonly entries: MemoryTier<Entry<V>>;
  private readonly flights = new Map<string, Flight>();
  /** Keys whose last load failed: no new load before `until`. */
  private readonly failures: MemoryTier<{ until: number; error: unknown }>;

  constructor(readonly policy: Policy) {
    this.entries = new MemoryTier(policy.maxEntries);
    this.failures = new MemoryTier(policy.maxEntries);
  }

  /** The entry while it is fresh and not negative, without loading. */
  peek(key: string, now = Date.now(), freshMs = this.policy.freshMs): Entry<V> | undefined {
    const entry = this.entries.get(key);
    return entry?.value != null && now - entry.fetchedAt < freshMs ? entry : undefined;
  }

  /** A copy from another tier: kept when newer than the isolate's; fresh from when produced. */
  offer(key: string, value: V, producedAt: number, fetchedAt = producedAt): void {
    const entry = this.entries.get(key);
    if (entry?.value != null && entry.producedAt >= producedAt) return;
    this.entries.set(key, { value, fetchedAt, producedAt });
  }

  /** A value this isolate just wrote to the origin: usable at once, no failure remembered. */
  set(key: string, value: V, now = Date.now()): void {
    this.entries.set(key, { value, fetchedAt: now, producedAt: now });
    this.failures.delete(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.flights.clear();
    this.failures.clear();
  }

  /**
   * Resolves many keys at once: usable entries at once, the rest in one load by this request;
   * keys another request is loading are waited for by polling, never loaded twice. Absent keys
   * are left out; keys with nothing usable after a failed load go to `options.unavailable`.
   */
  async resolve(keys: Iterable<string>, load: Loader<V>, options: ResolveOptions) {
    const startedAt = Date.now();
    const now = options.now ?? startedAt;
    const clock = () => now + (Date.now() - startedAt);
    const since = options.since;
    const involved = new Set<string>();
    const call: Call = { since: since ?? now, realSince: since ?? startedAt, involved, options };
    const found = new Map<string, Resolved<V>>();
    let open = [...new Set(keys)];
    // The first judgement is made at `now` itself; later rounds (after waiting) at `now` plus the
    // time waited. The clock can move between two lines of one synchronous run (a test caught a
    // page judged 1 ms late, stale instead of fresh at its last fresh millisecond).
    let first = true;
    for (let pauseMs = 2; open.length > 0; pauseMs = Math.min(pauseMs * 2, this.policy.maxPollMs)) {
      const toLoad: string[] = [];
      const background: string[] = [];
      const waiting: string[] = [];
      const failed: Array<{ key: string; error: unknown }> = [];
      const at = first ? now : clock();
      first = false;
      for (const key of open) {
        const verdict = this.judge(key, at, call);
        if (verdict.kind === "value") found.set(key, verdict.resolved);
        else if (verdict.kind === "revalidate") {
          found.set(key, verdict.resolved);
          background.push(key);
        } else if (verdict.kind === "load") toLoad.push(key);
        else if (verdict.kind === "wait") waiting.push(key);
        if (verdict.kind === "load" || verdict.kind === "wait") involved.add(key);
        else if (verdict.kind === "failed") failed.push({ key, error: verdict.error });
      }
      if (failed.length > 0) options.unavailable(failed);
      if (background.length > 0 && options.waitUntil) {
        // The flights are claimed synchronously, before this call returns the stale values.
        options.waitUntil(this.loadHere(background, load, clock).catch(() => undefined));
      }
      if (toLoad.length > 0) {
        await this.loadHere(toLoad, load, clock);
        for (const key of toLoad) {
          const verdict = this.judge(key, clock(), call);
          if (verdict.kind === "value") found.set(key, verdict.resolved);
          else if (verdict.kind === "failed") failed.push({ key, error: verdict.error });
        }
        if (failed.length > 0) options.unavailable(failed);
      }
      open = waiting;
      if (open.length > 0) await pause(pauseMs);
    }
    return found;
  }

  /** What to do about one key now: `at` is the entries' clock, flights keep real time. */
  private judge(key: string, at: number, call: Call): Verdict<V> {
    const { policy } = this;
    const freshMs = call.options.freshMs ?? policy.freshMs;
    const staleMs = call.options.staleMs ?? policy.staleMs;
    const entry = this.entries.get(key);
    const flight = this.flights.get(key);
    const realNow = Date.now();
    // A load this call ran or waited for failed: its error is this call's too.
    const settledForUs = (flight?.settledAt ?? 0) >= call.realSince && call.involved.has(key);
    const failedForUs = settledForUs && flight?.failed === true;
    if (entry?.value === null) {
      const trusted = at - entry.fetchedAt < policy.negativeMs;
      const loaded = (settledForUs || entry.fetchedAt >= call.since) && !failedForUs;
      if (trusted || loaded) return { kind: "absent" };
    } else if (entry) {
      const { value, producedAt } = entry;
      const age = at - entry.fetchedAt;
      // Loaded by or for this call: a waiter takes the result whatever its age.
      const loaded = (settledForUs || entry.fetchedAt >= call.since) && !failedForUs;
      if (loaded) return verdictOf(value, producedAt, "loaded");
      if (age < freshMs) return verdictOf(value, producedAt, "fresh");
    }
    const running = this.isRunning(flight, realNow);
    const stale = entry?.value != null && at - entry.fetchedAt < freshMs + staleMs;
    const servable = stale ? entry : undefined;
    if (servable?.value != null && running) {
      return verdictOf(servable.value, servable.producedAt, "stale");
    }
    const failure = this.failures.get(key);
    if ((failure && realNow < failure.until) || failedForUs) {
      if (entry?.value != null && at - entry.producedAt < policy.staleIfErrorMs) {
        return verdictOf(entry.value, entry.producedAt, "stale");
      }
      return { kind: "failed", error: failedForUs ? flight?.error : failure?.error };
    }
    if (running) return { kind: "wait" };
    if (servable?.value != null && call.options.waitUntil) {
      const { value, producedAt } = servable;
      const resolved: Resolved<V> = { value, producedAt, how: "stale", revalidating: true };
      return { kind: "revalidate", resolved };
    }
    return { kind: "load" };
  }

  /** Loads `keys` in this request under flights of its own and records the outcome. */
  private async loadHere(keys: string[], load: Loader<V>, clock: () => number): Promise<void> {
    const realStart = Date.now();
    const startAt = clock();
    this.sweepFlights(realStart);
    const mine = new Map<string, Flight>();
    for (const key of keys) {
      const flight: Flight = { startedAt: realStart };
      mine.set(key, flight);
      this.flights.set(key, flight);
    }
    let result: Loaded<V>;
    try {
      const { loadTimeoutMs: ms, what } = this.policy;
      const loading = load(keys);
      result = await (ms === undefined ? loading : withTimeout(loading, ms, what));
    } catch (error) {
      result = { found: [], failed: { keys, error } };
    }
    const realNow = Date.now();
    const failed = new Set(result.failed?.keys ?? []);
    const byKey = new Map(result.found.map((item) => [item.key, item] as const));
    for (const [key, flight] of mine) {
      const item = byKey.get(key);
      if (failed.has(key)) {
        const error = result.failed?.error;
        flight.failed = true;
        flight.error = error;
        const { retryAfterMs } = this.policy;
        if (retryAfterMs > 0) this.failures.set(key, { until: realNow + retryAfterMs, error });
        // A copy from another tier, kept for stale-if-error only: never fresh.
        if (item) this.offer(key, item.value, item.producedAt ?? 0);
      } else {
        this.failures.delete(key);
        const value = item?.value ?? null;
        const producedAt = item?.producedAt ?? startAt;
        this.entries.set(key, { value, fetchedAt: item?.fetchedAt ?? startAt, producedAt });
      }
      flight.settledAt = realNow;
    }
  }

  /** A load still running and not yet abandoned. */
  private isRunning(flight: Flight | undefined, realNow: number): boolean {
    if (flight === undefined || flight.settledAt !== undefined) return false;
    return realNow - flight.startedAt < this.policy.loadWaitMs;
  }

  private sweepFlights(now: number): void {
    if (this.flights.size < FLIGHTS_SWEEP_AT) return;
    const keep = Math.max(KEEP_MS, this.policy.loadWaitMs);
    for (const [key, flight] of this.flights) {
      if (now - (flight.settledAt ?? flight.startedAt) >= keep) this.flights.delete(key);
    }
  }
}
