import type { Redis } from "@upstash/redis/cloudflare";
import type { AppBindings } from "../env";
import type { CircuitBreaker } from "../lib/circuit-breaker";
import { leaderboardStub } from "./objects/leaderboard";
import { liveRelayStub } from "./objects/live-relay";
import { type ReplayStore, replayStoreFor } from "./objects/replay-guard";
import { type Database, queryDatabase } from "./postgres/client";
import { openRedis, redisBreakerFor } from "./redis/client";

/**
 * The stores one request (or one cron run) works with, built once and passed down. Nothing in it
 * is bound to the request's lifetime: the Redis client, the breaker and the query client are
 * per isolate and hold no socket, and stubs are made on demand, so work that runs after the
 * response (cache refreshes in waitUntil) may use it as the request itself does.
 */
export interface Stores {
  env: AppBindings;
  /** Postgres over Neon's HTTP endpoint: one round trip per statement, nothing to close. */
  db: () => Database;
  /** Upstash, or null when it is not configured (every caller then falls back to Postgres). */
  redis: Redis | null;
  /** The isolate's circuit breaker around this Redis. */
  redisBreaker: CircuitBreaker;
  /** The LeaderboardDO of one board-period. */
  leaderboard: (boardId: string, periodKey: string) => ReturnType<typeof leaderboardStub>;
  /** The LiveRelay `index` of one board-period (live-feed sockets). */
  liveRelay: (
    boardId: string,
    periodKey: string,
    index: number,
  ) => ReturnType<typeof liveRelayStub>;
  /** Request-signature ids seen recently (the ReplayGuard objects). */
  replays: ReplayStore;
}

export function storesFor(env: AppBindings): Stores {
  return {
    env,
    db: () => queryDatabase(env),
    redis: openRedis(env),
    redisBreaker: redisBreakerFor(env),
    leaderboard: (boardId, periodKey) => leaderboardStub(env, boardId, periodKey),
    liveRelay: (boardId, periodKey, index) => liveRelayStub(env, boardId, periodKey, index),
    replays: replayStoreFor(env),
  };
}
