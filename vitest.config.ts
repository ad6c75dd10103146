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
      // wrangler.toml requires these secrets and wrangler looks for them in process.env; the
      // bindings below give the worker its values, so name them there too, or every test file
      // prints a false "Missing required secrets" warning.
      process.env.DATABASE_URL ??= inject("databaseUrl");
      process.env.ADMIN_KEY ??= "test-admin-key";
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            DATABASE_URL: inject("databaseUrl"),
            NEON_WS_PROXY: inject("neonWsProxy"),
            ADMIN_KEY: "test-admin-key",
            CORS_ORIGINS: "https://game.example",
            REDIS_KEY_PREFIX: inject("redisKeyPrefix"),
            ...(upstashUrl
              ? {
                  UPSTASH_REDIS_REST_URL: upstashUrl,
                  UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
                }
              : {}),
            PLAYER_TOKEN_SECRET: "test-player-token-secret-0123456789abcdef",
            // Warnings and errors only: the line every request and batch logs at "info" would
            // bury a failure (test/routes/metrics.test.ts turns it on where it checks it).
            LOG_LEVEL: "warn",
          },
          // Every test file sends from one address: wrangler.toml's per-PoP budgets are lifted
          // here, and the rate-limit tests swap in TEST_RATE_LIMIT (5 per 10 s) where they check
          // them.
          ratelimits: {
            ...Object.fromEntries(
              ["READ_IP", "WRITE_IP", "ADMIN_IP", "MINT_IP", "PLAYER", "KEY"].map((name, i) => [
                `RATE_LIMIT_${name}`,
                {
                  namespace_id: String(9001 + i),
                  simple: { limit: 1_000_000_000, period: 60 as const },
                },
              ]),
            ),
            TEST_RATE_LIMIT: { namespace_id: "9100", simple: { limit: 5, period: 10 as const } },
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
