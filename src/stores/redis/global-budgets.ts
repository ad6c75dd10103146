import type { Redis } from "@upstash/redis/cloudflare";
import { slidingCount, untilWindowEnds, type WindowCounts } from "../../domain/sliding-window";
import { BoundedMap } from "../../lib/bounded-map";
import { type CircuitBreaker, CircuitOpenError } from "../../lib/circuit-breaker";
import { describeError, log } from "../../lib/log";
import { withTimeout } from "../../lib/timeout";

/** Budgets are per minute (GLOBAL_RATE_LIMIT_*_PER_MINUTE). */
const WINDOW_MS = 60_000;
/**
 * How long an isolate gathers the units it granted before adding them to Redis in one round trip:
 * the most another PoP's grants are unseen here (each PoP's own budget holds meanwhile).
 */
const FLUSH_AFTER_MS = 250;
/** A flush waits this long for Redis, then gives up (its grants dropped). */
const FLUSH_TIMEOUT_MS = 2_000;
/** Longer than any flush takes: a flush still pending after it had its request cancelled. */
const STUCK_MS = 10_000;
/** Ids whose last known counts an isolate keeps (least recently flushed dropped first). */
const KNOWN_IDS = 50_000;

export type Verdict = { granted: true } | { granted: false; retryAfterSeconds: number };

/**
 * Budgets across PoPs (a player's or a server key's writes per minute), counted in Redis in
 * batches: each isolate grants from the counts it last read plus what it granted since, and adds
 * its grants to Redis once per FLUSH_AFTER_MS in one pipeline for every id, reading the counts
 * back. So a flood through one isolate is refused at the budget exactly, one spread over PoPs
 * within a flush, and a write costs a Map update instead of a Redis round trip.
 *
 * Written here rather than taken from @upstash/ratelimit, which this replaces: every algorithm
 * there makes one Redis call per request (its cached fixed window too, after answering), and at
 * one score per request that round trip was the largest share of the write path's own CPU that
 * was ours (docs/benchmarks.md, "One score per request").
 */
export class GlobalBudgets {
  /** Units granted since the last flush, by window and id. */
  #pending = new Map<string, { id: string; window: number; units: number }>();
  #known = new BoundedMap<string, WindowCounts>(KNOWN_IDS);
  /** When the pending flush was scheduled (0: none is). */
  #scheduledAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly breaker: CircuitBreaker,
    private readonly keyPrefix: string,
    private readonly options: { flushAfterMs?: number; now?: () => number } = {},
  ) {}

  /**
   * Takes one unit of `id`'s budget of `perMinute`, or refuses when the sliding minute holds the
   * whole budget already. A grant schedules the flush through `waitUntil`.
   */
  take(id: string, perMinute: number, waitUntil: (promise: Promise<unknown>) => void): Verdict {
    const now = this.#now();
    const window = Math.floor(now / WINDOW_MS);
    const known = this.#known.get(id);
    const slot = `${window}:${id}`;
    const pendingUnits = this.#pending.get(slot)?.units ?? 0;
    const used = (known ? slidingCount(known, now, WINDOW_MS) : 0) + pendingUnits;
    if (used + 1 > perMinute) {
      return {
        granted: false,
        retryAfterSeconds: Math.max(1, Math.ceil(untilWindowEnds(now, WINDOW_MS) / 1000)),
      };
    }
    this.#pending.set(slot, { id, window, units: pendingUnits + 1 });
    // A flush whose request was cancelled never settles: past STUCK_MS another is scheduled.
    if (this.#scheduledAt === 0 || now - this.#scheduledAt > STUCK_MS) {
      const scheduledAt = now;
      this.#scheduledAt = scheduledAt;
      waitUntil(
        new Promise((resolve) => setTimeout(resolve, this.options.flushAfterMs ?? FLUSH_AFTER_MS))
          .then(() => this.flush())
          .finally(() => {
            if (this.#scheduledAt === scheduledAt) this.#scheduledAt = 0;
          }),
      );
    }
    return { granted: true };
  }

  /**
   * Adds the pending grants to Redis and reads every id's counts back, in one pipeline. If Redis
   * cannot be reached the grants are dropped (not retried: the per-PoP budgets still hold).
   */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending.values()];
    this.#pending = new Map();
    const pipeline = this.redis.pipeline();
    for (const { id, window, units } of batch) {
      const current = this.#key(id, window);
      pipeline.incrby(current, units);
      pipeline.pexpire(current, WINDOW_MS * 2);
      pipeline.get(this.#key(id, window - 1));
    }
    let replies: unknown[];
    try {
      replies = await this.breaker.run(() =>
        withTimeout(pipeline.exec(), FLUSH_TIMEOUT_MS, "Redis global budgets"),
      );
    } catch (error) {
      // The failures that opened the circuit were logged here; while it stays open a flush has
      // nothing new to say.
      if (error instanceof CircuitOpenError) return;
      log.warn(
        "rate limit: the global budgets could not be counted; the per-PoP budgets still apply",
        {
          ids: batch.length,
          error: describeError(error),
        },
      );
      return;
    }
    batch.forEach(({ id, window }, i) => {
      const known = this.#known.get(id);
      // A window's grants flushed after the next window's (at its turn) must not overwrite them.
      if (known && known.window > window) return;
      this.#known.set(id, {
        window,
        current: Number(replies[i * 3]),
        previous: Number(replies[i * 3 + 2] ?? 0),
      });
    });
  }

  #key(id: string, window: number): string {
    return `${this.keyPrefix}gb:${id}:${window}`;
  }

  #now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

/** One set of budgets per Redis client (one per isolate: openRedis) and key prefix. */
const budgets = new WeakMap<Redis, Map<string, GlobalBudgets>>();

export function globalBudgetsFor(redis: Redis, breaker: CircuitBreaker, keyPrefix: string) {
  let byPrefix = budgets.get(redis);
  if (!byPrefix) {
    byPrefix = new Map();
    budgets.set(redis, byPrefix);
  }
  let found = byPrefix.get(keyPrefix);
  if (!found) {
    found = new GlobalBudgets(redis, breaker, keyPrefix);
    byPrefix.set(keyPrefix, found);
  }
  return found;
}
