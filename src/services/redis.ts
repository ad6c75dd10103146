import { Redis } from "@upstash/redis/cloudflare";

export type RedisEnv = { UPSTASH_REDIS_REST_URL?: string; UPSTASH_REDIS_REST_TOKEN?: string; REDIS_KEY_PREFIX: string };

/**
 * An Upstash client when both URL and token are configured, otherwise null: Redis is optional,
 * every caller has a Postgres fallback. The client is plain fetch, so creating one per request
 * is cheap. Retries are kept short: a slow Redis must degrade a request, not stall it.
 */
export function openRedis(env: RedisEnv): Redis | null {
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) return null;
  return new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: { retries: 1, backoff: () => 50 },
    enableTelemetry: false,
  });
}
