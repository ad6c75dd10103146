import { createRequire } from "node:module";
import type { Redis as RedisClient } from "ioredis";
import type { TestProject } from "vitest/node";
import { createTestDatabase, dropDatabase, startLocalStack } from "../tools/local-stack/index.ts";
import { runMigrations } from "../tools/migrate.ts";
import { startIdentityProvider } from "./idp-server.ts";

const say = (line: string) => console.log(`[test-stack] ${line}`);

/**
 * Runs in Node before the workerd test pool starts. Each run gets its own database: a fresh one on
 * DATABASE_URL's server (dropped afterwards), or a new in-memory PGlite when DATABASE_URL is unset,
 * and its own Redis key prefix, so runs never see each other's rows.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = `${Date.now().toString(36)}_${process.pid}`;
  const redisUrl = process.env.REDIS_URL || undefined;
  if (!redisUrl && process.env.REQUIRE_REDIS) {
    throw new Error(
      "REQUIRE_REDIS is set but REDIS_URL is not: point REDIS_URL at a Redis (redis://127.0.0.1:6379) so no test is skipped",
    );
  }
  const stack = await startLocalStack({
    databaseUrl: process.env.DATABASE_URL || undefined,
    pgliteDataDir: "memory://",
    redisUrl,
    log: say,
  });

  let databaseUrl = stack.databaseUrl;
  let dropName: string | undefined;
  if (!stack.embedded) {
    dropName = `edgeboard_test_${runId}`;
    databaseUrl = await createTestDatabase(stack.databaseUrl, stack.neonWsProxy, dropName);
    say(`fresh database ${dropName}`);
  } else {
    say("embedded PGlite (in memory): DATABASE_URL is unset");
  }
  await runMigrations({ databaseUrl, neonWsProxy: stack.neonWsProxy, log: say });

  if (!stack.upstash)
    say(
      "REDIS_URL is unset: tests that need Redis are skipped (set REDIS_URL=redis://127.0.0.1:6379 to run them)",
    );

  project.provide("databaseUrl", databaseUrl);
  project.provide("neonWsProxy", stack.neonWsProxy);
  project.provide("upstashUrl", stack.upstash?.url ?? "");
  // What the run was asked for, independent of what reached the worker's bindings: tests that
  // check Redis is wired compare against this.
  project.provide("redisRequested", redisUrl !== undefined);
  project.provide("upstashToken", stack.upstash?.token ?? "");
  const redisKeyPrefix = `eb:test:${runId}:`;
  project.provide("redisKeyPrefix", redisKeyPrefix);
  const idp = await startIdentityProvider();
  project.provide("idpJwksUrl", idp.jwksUrl);
  project.provide("idpPrivateJwk", idp.privateJwk);

  return async () => {
    await idp.stop();
    if (dropName)
      await dropDatabase(stack.databaseUrl, stack.neonWsProxy, dropName).catch((error) =>
        say(`could not drop ${dropName}: ${error}`),
      );
    if (redisUrl)
      await deleteKeys(redisUrl, redisKeyPrefix).catch((error) =>
        say(`could not delete the run's Redis keys: ${error}`),
      );
    await stack.stop();
  };
}

/**
 * Everything the run wrote under its prefix, including keys no test file tracks (the
 * reconciliation cron loads every board in the run's database), so runs leave nothing behind.
 */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  // ioredis is CommonJS (see tools/local-stack/upstash-bridge.ts).
  const Redis = createRequire(import.meta.url)("ioredis") as typeof RedisClient;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(
        cursor,
        "MATCH",
        `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`,
        "COUNT",
        1000,
      );
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
    say(`deleted the run's ${deleted} Redis keys (${prefix}*)`);
  } finally {
    redis.disconnect();
  }
}
