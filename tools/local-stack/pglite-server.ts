import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { lockDataDir } from "./data-dir-lock.ts";
import { type Log, silent } from "./log.ts";
import { type PgliteTcpServer, servePgliteOverTcp } from "./pglite-tcp-server.ts";

export interface PgliteOptions {
  /** A folder (created if missing) or 'memory://' for a throwaway database. */
  dataDir: string;
  /** 0 (default) = any free port. */
  port?: number;
  log?: Log;
}

export interface PgliteServer {
  /** postgres://postgres:postgres@127.0.0.1:PORT/postgres */
  databaseUrl: string;
  port: number;
  /** Stops accepting connections, then flushes and closes the database. Idempotent. */
  stop(): Promise<void>;
}

// The worker opens several connections (request handlers, Durable Objects, queue consumers, crons);
// they take turns on the single PGlite backend.
const MAX_CONNECTIONS = 100;

/**
 * The embedded default database: a real Postgres (compiled to WASM) listening on a TCP port, so
 * `npm run dev` and the tests work with no Postgres installed. PGlite is single-threaded; the
 * socket server in pglite-tcp-server.ts lets many clients take turns on it.
 */
export async function startPglite(opts: PgliteOptions): Promise<PgliteServer> {
  const log = opts.log ?? silent;
  const inMemory = opts.dataDir.startsWith("memory://");
  let unlock = async () => {};
  if (!inMemory) {
    await mkdir(opts.dataDir, { recursive: true });
    unlock = await lockDataDir(opts.dataDir);
  }

  let db: PGlite;
  try {
    db = await PGlite.create(opts.dataDir);
  } catch (err) {
    await unlock();
    throw new Error(
      `PGlite could not open ${opts.dataDir} (${(err as Error).message}): if the folder is corrupt or from another PGlite version, delete it (its data is local only) and run again`,
      { cause: err },
    );
  }

  let server: PgliteTcpServer;
  try {
    server = await servePgliteOverTcp(db, {
      host: "127.0.0.1",
      port: opts.port ?? 0,
      maxConnections: MAX_CONNECTIONS,
      log,
    });
  } catch (err) {
    await db.close();
    await unlock();
    throw new Error(
      `PGlite could not listen on 127.0.0.1:${opts.port ?? 0} (${(err as Error).message}): pick another port or stop what uses it`,
      { cause: err },
    );
  }
  const port = server.port;

  let stopped: Promise<void> | undefined;
  return {
    databaseUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      stopped ??= (async () => {
        await server.stop();
        // close() waits for the running query, checkpoints and syncs the data folder to disk.
        await db.close();
        await unlock();
      })();
      return stopped;
    },
  };
}
