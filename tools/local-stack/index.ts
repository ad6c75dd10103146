import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkDatabase } from "./check-database.ts";
import { type Log, silent } from "./log.ts";
import { isLoopbackHost, isNeonHost, pgHostPort, redactPgUrl } from "./pg-url.ts";
import { startPgWsBridge } from "./pg-ws-bridge.ts";
import { startPglite } from "./pglite-server.ts";
import { assertTcpReachable } from "./tcp-probe.ts";
import { redisHostPort, startUpstashBridge } from "./upstash-bridge.ts";

export { configureNeonForNode, withDatabase } from "./neon-node.ts";
export { redactPgUrl } from "./pg-url.ts";
export { createTestDatabase, dropDatabase } from "./test-database.ts";

export interface LocalStackOptions {
  /** A real Postgres (e.g. postgres://postgres@127.0.0.1:5432/test); absent → embedded PGlite. */
  databaseUrl?: string;
  /** Default '.data/pglite' (git-ignored); 'memory://' for tests. */
  pgliteDataDir?: string;
  /**
   * A real Redis (redis://127.0.0.1:6379); absent → no Upstash bridge (the app falls back to
   * Postgres).
   */
  redisUrl?: string;
  /** Default: random. */
  upstashToken?: string;
  log?: Log;
}

export interface LocalStack {
  /** What the worker should use as DATABASE_URL (reachable through the bridge). */
  databaseUrl: string;
  /**
   * "127.0.0.1:PORT/v1" for NEON_WS_PROXY; '' when DATABASE_URL is a real Neon host (no bridge).
   */
  neonWsProxy: string;
  upstash?: { url: string; token: string };
  /** True when PGlite is in use. */
  embedded: boolean;
  /** Stops everything it started, in reverse order; idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_PGLITE_DIR = ".data/pglite";

/**
 * The one way every Node-side entry point (npm run dev, the vitest global setup, db:migrate,
 * benchmarks) gets a database and Redis that the production drivers can talk to: a Postgres (real
 * or embedded PGlite) behind the Neon WebSocket bridge, and optionally Redis behind the Upstash
 * REST bridge. Fails early, saying what to start or unset, when a configured server is down.
 */
export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const log = opts.log ?? silent;
  const stops: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const stop of stops.reverse()) {
        await stop().catch((err: unknown) => log(`while stopping: ${(err as Error).message}`));
      }
    })();
    return stopping;
  };

  try {
    let databaseUrl: string;
    let neonWsProxy = "";
    let embedded = false;

    if (opts.databaseUrl && isNeonHost(opts.databaseUrl)) {
      // The driver reaches Neon through Neon's own proxy: nothing to run locally.
      databaseUrl = opts.databaseUrl;
      log(`Neon at ${redactPgUrl(databaseUrl)}: connecting directly (no local bridge)`);
    } else {
      let target: { host: string; port: number };
      if (opts.databaseUrl) {
        databaseUrl = opts.databaseUrl;
        target = pgHostPort(databaseUrl);
        await assertTcpReachable({
          ...target,
          what: `Postgres at ${target.host}:${target.port}`,
          fix: "start it (e.g. pg_ctlcluster 15 main start) or unset DATABASE_URL to use the embedded PGlite database",
        });
      } else {
        const dataDir = opts.pgliteDataDir ?? DEFAULT_PGLITE_DIR;
        const inMemory = dataDir.startsWith("memory://");
        const firstRun = !inMemory && !existsSync(join(dataDir, "PG_VERSION"));
        const where = inMemory ? "in memory" : `at ${dataDir}`;
        if (firstRun)
          log(
            `embedded Postgres (PGlite) ${where}: first run, creating the database (a few seconds)…`,
          );
        const started = performance.now();
        const pglite = await startPglite({ dataDir, log });
        stops.push(pglite.stop);
        databaseUrl = pglite.databaseUrl;
        target = { host: "127.0.0.1", port: pglite.port };
        embedded = true;
        log(
          `embedded Postgres (PGlite) ${where} … ready in ${seconds(started)} (127.0.0.1:${pglite.port})`,
        );
      }

      const bridge = await startPgWsBridge({
        // Loopback, plus the configured server when it lives elsewhere (a container, another host).
        allowedTargets: (host, port) =>
          isLoopbackHost(host) || (host === target.host && port === target.port),
        log,
      });
      stops.push(bridge.stop);
      neonWsProxy = bridge.url;
      log(`Neon WebSocket bridge on ${bridge.url}`);
      if (!embedded) await checkDatabase(databaseUrl, neonWsProxy, target);
    }

    let upstash: LocalStack["upstash"];
    if (opts.redisUrl) {
      const bridge = await startUpstashBridge({
        redisUrl: opts.redisUrl,
        token: opts.upstashToken ?? randomBytes(24).toString("base64url"),
        log,
      });
      stops.push(bridge.stop);
      upstash = { url: bridge.url, token: bridge.token };
      const redis = redisHostPort(opts.redisUrl);
      log(`Upstash bridge → redis://${redis.host}:${redis.port} on ${bridge.url}`);
    } else {
      log("no REDIS_URL: Upstash disabled (ranks fall back to Postgres)");
    }

    return { databaseUrl, neonWsProxy, upstash, embedded, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}
