import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import * as schema from "./schema";

export type Database = ReturnType<typeof drizzle<typeof schema>>;

/** What a database client needs from the environment. */
export type DatabaseEnv = { DATABASE_URL: string; NEON_WS_PROXY?: string };

export interface DatabaseHandle {
  db: Database;
  pool: Pool;
  /** Closes the pool's WebSockets; call it in waitUntil once the request or batch is done. */
  close(): Promise<void>;
}

/**
 * Points the Neon driver at the local WebSocket-to-TCP bridge when NEON_WS_PROXY is set (dev and
 * tests). neonConfig is module-global, but these values only ever depend on the deployment, so
 * setting them again per client is harmless.
 */
function configureNeon(proxy: string | undefined): void {
  if (!proxy) return;
  neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}

/**
 * A drizzle client over a Neon WebSocket pool, created per request or per queue batch. It must
 * never be held in module scope: a Worker's sockets cannot outlive the request that opened them.
 */
export function openDatabase(env: DatabaseEnv, options: { maxConnections?: number } = {}): DatabaseHandle {
  if (!env.DATABASE_URL) {
    throw new Error(
      "DATABASE_URL is not set: add it to .dev.vars (or run `npm run dev`, which sets it), or `wrangler secret put DATABASE_URL` when deployed",
    );
  }
  configureNeon(env.NEON_WS_PROXY);
  const pool = new Pool({
    connectionString: env.DATABASE_URL,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client's socket error would otherwise be an unhandled rejection in the isolate.
  pool.on("error", () => {});
  let closed = false;
  return {
    db: drizzle({ client: pool, schema }),
    pool,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => {});
    },
  };
}
