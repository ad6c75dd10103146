import { Redis } from "@upstash/redis/cloudflare";

export type RedisEnv = { UPSTASH_REDIS_REST_URL?: string; UPSTASH_REDIS_REST_TOKEN?: string; REDIS_KEY_PREFIX: string };

/** One client per (URL, token) per isolate: building one allocates every command method anew. */
const clients = new Map<string, Redis>();

/**
 * An Upstash client when both URL and token are configured, otherwise null: Redis is optional,
 * every caller has a Postgres fallback. The client is plain fetch and holds no connection, so one
 * per isolate serves every request (constructing it per request cost ~10% of a rank lookup).
 * Retries are kept short: a slow Redis must degrade a request, not stall it.
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
    });
    clients.set(key, client);
  }
  return client;
}
