import type { Redis } from "@upstash/redis/cloudflare";
import { type CircuitBreaker, CircuitOpenError } from "../../lib/circuit-breaker";
import { describeError, log } from "../../lib/log";
import { count } from "../../lib/metrics";
import { withTimeout } from "../../lib/timeout";
import type { ReplayStore } from "./replay-store";

/** A hung Redis costs an authenticated request this long before the Durable Object answers instead. */
const REDIS_TIMEOUT_MS = 1_000;

/**
 * Replay store on Redis: one `SET <prefix>sig:<id> 1 NX PX ttl`, whose "OK" means first. Calls go
 * through the isolate's Redis circuit breaker; when Redis fails or the circuit is open the id is
 * offered to `fallback` (the Durable Objects) instead, never taken as first.
 *
 * The two stores do not share what they saw, so a copy offered to the other store within the
 * window passes: an id Redis recorded, replayed while Redis is down; an id recorded in the
 * fallback, replayed to an isolate that reaches Redis (a partial outage, or Redis back within
 * the window). Where that matters more than latency, use the Durable Object store alone.
 */
export class RedisReplayStore implements ReplayStore {
  constructor(
    private readonly redis: Redis,
    private readonly breaker: CircuitBreaker,
    private readonly keyPrefix: string,
    private readonly fallback: ReplayStore,
  ) {}

  async firstSeen(id: string, ttlMs: number): Promise<boolean> {
    try {
      const set = () => this.redis.set(`${this.keyPrefix}sig:${id}`, "1", { nx: true, px: ttlMs });
      const reply = await this.breaker.run(() => withTimeout(set(), REDIS_TIMEOUT_MS, "Redis replay check"));
      return reply === "OK";
    } catch (error) {
      if (error instanceof CircuitOpenError) count("redisSkipped");
      else {
        count("redisFailures");
        log.warn("replay check: Redis failed; asking the Durable Object store", { error: describeError(error) });
      }
      return this.fallback.firstSeen(id, ttlMs);
    }
  }
}
