import type { IncomingMessage, ServerResponse } from "node:http";
import { Pool, type PoolClient } from "@neondatabase/serverless";
import { BodyTooLarge, readBody, sendJson as send } from "./http-json.ts";
import { type Log, silent } from "./log.ts";
import { configureNeonForNode } from "./neon-node.ts";
import { pgHostPort } from "./pg-url.ts";

/**
 * Local stand-in for Neon's HTTP query endpoint (`POST /sql`), which the Neon driver's `neon()`
 * function and drizzle's `neon-http` use: one statement (or one non-interactive transaction of
 * several) per fetch, run by the proxy on a connection it keeps, so the caller pays no connection
 * setup. Served by the same local bridge as the WebSocket protocol, as Neon's own proxy serves
 * both. Implements what @neondatabase/serverless 1.2 sends and reads:
 *  - headers `Neon-Connection-String` (which database), `Neon-Raw-Text-Output: true` and
 *    `Neon-Array-Mode: true` (rows as arrays of Postgres text values; the client parses them),
 *    `Neon-Batch-Isolation-Level`, `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`;
 *  - body `{query, params}` → `{command, rowCount, rows, fields, rowAsArray}`, or
 *    `{queries: [...]}` → `{results: [...]}`, all in one transaction;
 *  - a Postgres error → 400 with its fields (`message`, `code`, `detail`, …), which the driver
 *    turns into a NeonDbError carrying the SQLSTATE, as with Neon.
 * Connections are pooled per connection string and reach Postgres through this bridge's own
 * WebSocket path, so they take the same route as the worker's sessions.
 */
export interface NeonHttpEndpoint {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends every pooled connection. */
  close(): Promise<void>;
}

interface QueryData {
  query: string;
  params: Array<string | null>;
}

/** Pooled connections per database; idle ones close, so a dropped test database is not held. */
const POOL_SIZE = 8;
const IDLE_MS = 10_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
/**
 * The error fields Neon copies from a Postgres error into its 400 reply (the driver reads these).
 */
const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;
const ISOLATION: Record<string, string> = {
  ReadUncommitted: "read uncommitted",
  ReadCommitted: "read committed",
  RepeatableRead: "repeatable read",
  Serializable: "serializable",
};
// Every value as the text Postgres sent: the client parses it (Neon-Raw-Text-Output).
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

class BadRequest extends Error {}

export function createNeonHttpEndpoint(opts: {
  /** This bridge's WebSocket address ("127.0.0.1:PORT/v1"), which the pooled connections use. */
  wsProxy: string;
  allowedTargets: (host: string, port: number) => boolean;
  log?: Log;
}): NeonHttpEndpoint {
  const log = opts.log ?? silent;
  const pools = new Map<string, { pool: Pool; target: string }>();

  function poolFor(connectionString: string): { pool: Pool; target: string } {
    let entry = pools.get(connectionString);
    if (!entry) {
      let target: { host: string; port: number };
      try {
        target = pgHostPort(connectionString);
      } catch (error) {
        throw new BadRequest(
          `Neon-Connection-String is not a Postgres URL (${(error as Error).message})`,
        );
      }
      if (!opts.allowedTargets(target.host, target.port)) {
        throw new BadRequest(
          `${target.host}:${target.port} is not allowed: the local bridge only dials loopback`,
        );
      }
      configureNeonForNode(opts.wsProxy);
      const pool = new Pool({
        connectionString,
        max: POOL_SIZE,
        idleTimeoutMillis: IDLE_MS,
        connectionTimeoutMillis: 5_000,
      });
      // An idle connection closed under the pool (server restart, DROP DATABASE … FORCE) is not
      // a failure of any request; the pool replaces it on the next query.
      pool.on("error", () => {});
      entry = { pool, target: `${target.host}:${target.port}` };
      pools.set(connectionString, entry);
    }
    return entry;
  }

  async function run(client: Pick<PoolClient, "query">, q: QueryData) {
    const result = await client.query({
      text: q.query,
      values: q.params,
      rowMode: "array",
      types: RAW_TEXT,
    });
    return {
      command: result.command,
      rowCount: result.rowCount,
      rows: result.rows,
      fields: result.fields.map((f) => ({
        name: f.name,
        tableID: f.tableID,
        columnID: f.columnID,
        dataTypeID: f.dataTypeID,
        dataTypeSize: f.dataTypeSize,
        dataTypeModifier: f.dataTypeModifier,
        format: "text",
      })),
      rowAsArray: true,
    };
  }

  async function runBatch(pool: Pool, queries: QueryData[], req: IncomingMessage) {
    const isolation = header(req, "neon-batch-isolation-level");
    if (isolation !== undefined && !ISOLATION[isolation]) {
      throw new BadRequest(
        `Neon-Batch-Isolation-Level must be one of ${Object.keys(ISOLATION).join(", ")}`,
      );
    }
    const begin = [
      "begin",
      isolation ? `isolation level ${ISOLATION[isolation]}` : "",
      header(req, "neon-batch-read-only") === "true" ? "read only" : "",
      header(req, "neon-batch-deferrable") === "true" ? "deferrable" : "",
    ]
      .filter(Boolean)
      .join(" ");
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query(begin);
      const results = [];
      for (const q of queries) results.push(await run(client, q));
      await client.query("commit");
      return { results };
    } catch (error) {
      await client.query("rollback").catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let target = "Postgres";
    try {
      if (req.method !== "POST")
        throw new BadRequest("POST a JSON body {query, params} or {queries: [...]} to /sql");
      const connectionString = header(req, "neon-connection-string");
      if (!connectionString)
        throw new BadRequest("missing Neon-Connection-String header: which database to query");
      if (
        header(req, "neon-raw-text-output") !== "true" ||
        header(req, "neon-array-mode") !== "true"
      ) {
        throw new BadRequest(
          "this local endpoint answers only Neon-Raw-Text-Output: true and Neon-Array-Mode: true (what the driver sends)",
        );
      }
      const body = parseBody(
        (
          await readBody(req, MAX_BODY_BYTES, "send fewer rows per statement (Neon's limit)")
        ).toString("utf8"),
      );
      const { pool, target: address } = poolFor(connectionString);
      target = `Postgres at ${address}`;
      const reply =
        "queries" in body ? await runBatch(pool, body.queries, req) : await run(pool, body);
      send(res, 200, reply);
    } catch (error) {
      if (error instanceof BadRequest || error instanceof BodyTooLarge)
        return send(res, 400, { message: error.message });
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
        // A Postgres error: its fields, as Neon's proxy sends them.
        const fields: Record<string, unknown> = { message: (error as Error).message };
        for (const name of ERROR_FIELDS) {
          const value = (error as unknown as Record<string, unknown>)[name];
          if (value !== undefined) fields[name] = value;
        }
        return send(res, 400, fields);
      }
      const message = `local Neon HTTP endpoint could not reach ${target} (${(error as Error)?.message ?? String(error)}): is it running?`;
      log(`neon-bridge: ${message}`);
      send(res, 502, { message });
    }
  }

  return {
    handle,
    async close() {
      const ending = [...pools.values()].map(({ pool }) => pool.end().catch(() => {}));
      pools.clear();
      await Promise.all(ending);
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseBody(text: string): QueryData | { queries: QueryData[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BadRequest(`body is not JSON (${(error as Error).message})`);
  }
  if (
    parsed &&
    typeof parsed === "object" &&
    Array.isArray((parsed as { queries?: unknown }).queries)
  ) {
    const queries = (parsed as { queries: unknown[] }).queries.map(queryData);
    if (queries.length === 0)
      throw new BadRequest("queries is empty: send at least one {query, params}");
    return { queries };
  }
  return queryData(parsed);
}

function queryData(value: unknown): QueryData {
  const { query, params } = (value ?? {}) as { query?: unknown; params?: unknown };
  if (typeof query !== "string")
    throw new BadRequest('each query must be {"query": "select …", "params": [...]}');
  const list = params ?? [];
  if (!Array.isArray(list) || list.some((p) => p !== null && typeof p !== "string")) {
    throw new BadRequest(
      "params must be an array of strings or nulls (the driver sends every value as Postgres text)",
    );
  }
  return { query, params: list as Array<string | null> };
}
