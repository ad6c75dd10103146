import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the bindings of wrangler.toml (real Durable Objects, Queues, Cache
// and cron from miniflare). test/global-setup.ts starts the local stack in Node first: a fresh
// Postgres database (or embedded PGlite) with migrations applied, the Neon WebSocket bridge and,
// when REDIS_URL is set, the Upstash REST bridge. Their addresses reach the worker as bindings.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const upstashUrl = inject("upstashUrl");
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            DATABASE_URL: inject("databaseUrl"),
            NEON_WS_PROXY: inject("neonWsProxy"),
            ADMIN_KEY: "test-admin-key",
            CORS_ORIGINS: "https://game.example",
            REDIS_KEY_PREFIX: inject("redisKeyPrefix"),
            ...(upstashUrl ? { UPSTASH_REDIS_REST_URL: upstashUrl, UPSTASH_REDIS_REST_TOKEN: inject("upstashToken") } : {}),
          },
        },
      };
    }),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
