import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import { drizzle as drizzleSessions } from "drizzle-orm/neon-serverless";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { count } from "../../lib/metrics";
import * as schema from "./schema";

/** Query results as both Neon transports give them: `.rows` of objects. */
type RowsResult<T> = { rows: T[]; rowCount: number | null };
interface RowsResultHKT extends PgQueryResultHKT {
  type: RowsResult<this["row"]>;
}

/**
 * What services take: any drizzle database over this schema, one statement per call. Both the
 * HTTP client (request paths, score batches) and the WebSocket pool (cron jobs) are one.
 */
export type Database = PgDatabase<RowsResultHKT, typeof schema>;

/** A WebSocket-pool database: sessions, parallel statements on several connections. */
export type SessionDatabase = ReturnType<typeof drizzleSessions<typeof schema>>;

/** What a database client needs from the environment. */
export type DatabaseEnv = { DATABASE_URL: string; NEON_WS_PROXY?: string };

export interface DatabaseHandle {
  db: SessionDatabase;
  pool: Pool;
  /** Closes the pool's WebSockets; call it in waitUntil once the request or batch is done. */
  close(): Promise<void>;
}

/**
 * An HTTP query still unanswered by then is abandoned (its fetch aborted): the longest any caller
 * waits, a Durable Object rebuild. Request paths bound their own waits tighter.
 */
const QUERY_TIMEOUT_MS = 20_000;

function requireUrl(env: DatabaseEnv): string {
  if (!env.DATABASE_URL) {
    throw new Error(
      "DATABASE_URL is not set: add it to .dev.vars (or run `npm run dev`, which sets it), " +
        "or `wrangler secret put DATABASE_URL` when deployed",
    );
  }
  return env.DATABASE_URL;
}

/**
 * Neon's HTTP query endpoint on the local proxy: "127.0.0.1:PORT/v1" → "http://127.0.0.1:PORT/sql".
 */
export function localQueryEndpoint(proxy: string): string {
  return `http://${proxy.replace(/\/v\d$/, "")}/sql`;
}

/**
 * The NEON_WS_PROXY neonConfig was last set for (null: not yet), so a request pays nothing for it.
 */
let configuredFor: string | undefined | null = null;

/**
 * Points the Neon driver at the local bridge when NEON_WS_PROXY ("127.0.0.1:PORT/v1") is set (dev
 * and tests): WebSockets to it, and HTTP queries to /sql on the same port, as Neon's own proxy
 * serves both. neonConfig is module-global, and these values only ever depend on the deployment,
 * so they are set once per isolate. Every HTTP query is counted and bounded in time.
 */
function configureNeon(proxy: string | undefined): void {
  if (configuredFor === proxy) return;
  configuredFor = proxy;
  neonConfig.fetchFunction = countedFetch;
  if (!proxy) return;
  neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  const endpoint = localQueryEndpoint(proxy);
  neonConfig.fetchEndpoint = () => endpoint;
}

function countedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  count("postgresQueries");
  const timeout = AbortSignal.timeout(QUERY_TIMEOUT_MS);
  return fetch(input, {
    ...init,
    signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
  });
}

/**
 * HTTP query clients, one per database URL per isolate. A query over Neon's HTTP endpoint is one
 * fetch that the proxy runs on a connection it keeps: no WebSocket, no Postgres startup, which is
 * most of a single query's cost when a request opens its own session (docs/benchmarks.md). The
 * client holds no I/O object, only the URL, so unlike a pool it may outlive a request; building
 * it (drizzle's schema tables) once per isolate saves that per request.
 */
const queryClients = new Map<string, Database>();

/**
 * The database for request paths and Durable Objects: every query is one HTTP round trip, with
 * no interactive transactions (`db.transaction` throws; use one statement). Nothing to close.
 */
export function queryDatabase(env: DatabaseEnv): Database {
  const url = requireUrl(env);
  configureNeon(env.NEON_WS_PROXY);
  let db = queryClients.get(url);
  if (!db) {
    db = drizzleHttp({ client: neon(url), schema });
    queryClients.set(url, db);
  }
  return db;
}

/**
 * A drizzle client over a Neon WebSocket pool, for work that needs a session (interactive
 * transactions): cron jobs, dead-letter batches, moderation. Created per batch or run; it must
 * never be held in module scope: a Worker's sockets cannot outlive the request that opened them.
 */
export function openDatabase(
  env: DatabaseEnv,
  options: { maxConnections?: number } = {},
): DatabaseHandle {
  const connectionString = requireUrl(env);
  configureNeon(env.NEON_WS_PROXY);
  count("postgresConnections");
  const pool = new Pool({
    connectionString,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client's socket error would otherwise be an unhandled rejection in the isolate.
  pool.on("error", () => {});
  let closed = false;
  return {
    db: drizzleSessions({ client: pool, schema }),
    pool,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => {});
    },
  };
}
