import type { AppBindings } from "../../env";
import { openRedis, redisBreakerFor } from "../redis";
import { DurableReplayStore } from "./replay-store-do";
import { RedisReplayStore } from "./replay-store-redis";

/**
 * Remembers ids (request signatures) across every PoP for a time. `firstSeen` is true the first
 * time an id is offered within `ttlMs`, false on a repeat, and throws when it cannot tell: the
 * caller then refuses the request, never lets a possible replay through.
 */
export interface ReplayStore {
  firstSeen(id: string, ttlMs: number): Promise<boolean>;
}

/** Redis when Upstash is configured (one SET per request), the Durable Objects behind it or alone. */
export function replayStoreFor(env: AppBindings): ReplayStore {
  const guard = new DurableReplayStore(env.REPLAY_GUARD);
  const redis = openRedis(env);
  return redis ? new RedisReplayStore(redis, redisBreakerFor(env), env.REDIS_KEY_PREFIX, guard) : guard;
}
