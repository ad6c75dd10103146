import { Redis } from "@upstash/redis/cloudflare";
import { CircuitBreaker } from "../../lib/circuit-breaker";

export type RedisEnv = {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  REDIS_KEY_PREFIX: string;
};

/** One client per (URL, token) per isolate: building one allocates every command method anew. */
const clients = new Map<string, Redis>();

/**
 * An Upstash client when both URL and token are configured, otherwise null: Redis is optional,
 * every caller has a Postgres fallback. The client is plain fetch and holds no connection, so one
 * per isolate serves every request instead of one built per request. Retries are kept short: a
 * slow Redis must degrade a request, not stall it.
 */
export function openRedis(env: RedisEnv): Redis | null {
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) return null;
  const key = `${env.UPSTASH_REDIS_REST_URL} ${env.UPSTASH_REDIS_REST_TOKEN}`;
  let client = clients.get(key);
  if (!client) {
    client = new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      retry: { retries: 1, backoff: () => 50 },
      enableTelemetry: false,
      // Every read sends one script or command and the projection builds its own pipeline:
      // auto-pipelining only added a Proxy on every call and a Pipeline object per tick.
      enableAutoPipelining: false,
      // Replies are parsed by reply.ts, which takes strings; the SDK's default JSON.parse of every
      // string would throw (and be caught) on each member.
      automaticDeserialization: false,
      // Keys, members and ids are UTF-8 text, which JSON carries as is: no base64 round trip.
      responseEncoding: false,
    });
    clients.set(key, client);
  }
  return client;
}

const BREAKER_OPTIONS = {
  failures: 3,
  windowMs: 10_000,
  coolDownMs: 5_000,
  maxCoolDownMs: 60_000,
  probeTimeoutMs: 5_000,
};
const breakers = new Map<string, CircuitBreaker>();

/**
 * The isolate's breaker around every Redis read and projection write to this database (not the
 * readiness PING or the reconciliation cron, which probe on their own). Three failures within
 * 10 s open it: ranks then come from the Durable Objects and Postgres at their own latency
 * instead of each waiting out a Redis timeout, and projections queue their board-periods for the
 * cron at once. An open circuit lets one probe through after 5 s, then after twice as long each
 * time it fails, up to a minute.
 */
export function redisBreakerFor(env: RedisEnv): CircuitBreaker {
  const key = env.UPSTASH_REDIS_REST_URL ?? "";
  let breaker = breakers.get(key);
  if (!breaker) {
    breaker = new CircuitBreaker("Redis", BREAKER_OPTIONS);
    breakers.set(key, breaker);
  }
  return breaker;
}
