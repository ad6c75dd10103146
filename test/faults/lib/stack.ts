import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createTestDatabase,
  type LocalStack,
  startLocalStack,
  withDatabase,
} from "../../../tools/local-stack/index.ts";
import { runMigrations } from "../../../tools/migrate.ts";
import { onCleanup } from "./cleanup.ts";
import { type PostgresServer, startPrivatePostgres } from "./postgres-server.ts";
import { type RedisServer, startRedisServer } from "./redis-server.ts";
import { startWorker, type Worker } from "./worker.ts";

const ADMIN_KEY = "faults-admin-key";
const DATABASE = "edgeboard_faults";
/** How often the every-minute cron fires, as production's trigger would. */
const MINUTE_CRON_MS = 60_000;

/**
 * What every case gets: the suite's own Postgres and Redis (which a case may stop, kill and
 * restart), the worker serving the production bundle against them, and a way for the case to ask
 * Postgres itself what is true (through a Neon bridge of the suite's own, not the worker's).
 */
export interface Stack {
  pg: PostgresServer;
  redis: RedisServer;
  worker: Worker;
  /** The worker's database on the private Postgres. */
  databaseUrl: string;
  /**
   * Rows from the worker's database (a short-lived pool per call, so a Postgres restart costs
   * nothing).
   */
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  /**
   * Runs `statement` in a transaction of its own (e.g. a LOCK TABLE), keeps it open for `ms`,
   * then commits: a database that stalls the worker's statements for that long.
   */
  holdTransaction(statement: string, ms: number): Promise<void>;
  /** Header for admin routes. */
  admin: Record<string, string>;
  /** Header of a game server: a server key with events:write and scores:write-any. */
  writer: Record<string, string>;
  /**
   * The every-minute cron, fired now (the suite also fires it once a minute, as production would).
   */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

/** `logFile` receives the worker's output (the caller keeps it when a case failed). */
export async function startStack(logFile: string, say: (line: string) => void): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "edgeboard-faults-"));
  const forgetDir = onCleanup(`temp dir ${dir}`, () => {
    if (!process.env.FAULTS_KEEP) rmSync(dir, { recursive: true, force: true });
  });
  const pg = await startPrivatePostgres();
  const redis = await startRedisServer();
  // The suite's own way to Postgres (the Neon driver through a bridge of its own), for creating
  // the database, migrations and every check.
  const own: LocalStack = await startLocalStack({ databaseUrl: pg.adminUrl });
  const databaseUrl = await createTestDatabase(pg.adminUrl, own.neonWsProxy, DATABASE);
  await runMigrations({ databaseUrl, neonWsProxy: own.neonWsProxy, log: () => {} });
  const worker = await startWorker({
    databaseUrl,
    redisUrl: redis.url,
    adminKey: ADMIN_KEY,
    dir,
    logFile,
    say,
  });

  const created = await fetch(`${worker.base}/v1/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "faults game server",
      scopes: ["events:write", "scores:write-any"],
    }),
  });
  if (created.status !== 201)
    throw new Error(`POST /v1/admin/keys answered ${created.status}: ${await created.text()}`);
  const serverKey = ((await created.json()) as { key: string }).key;

  let cronFailures = 0;
  const cron = setInterval(() => {
    worker.fireCron("* * * * *").catch(() => {
      cronFailures += 1;
    });
  }, MINUTE_CRON_MS);
  cron.unref();

  return {
    pg,
    redis,
    worker,
    databaseUrl,
    admin: { authorization: `Bearer ${ADMIN_KEY}` },
    writer: { authorization: `Bearer ${serverKey}` },
    query: async <T>(text: string, params: unknown[] = []) =>
      withDatabase(
        databaseUrl,
        own.neonWsProxy,
        async (pool) => (await pool.query(text, params)).rows as T[],
      ),
    holdTransaction: (statement: string, ms: number) =>
      withDatabase(databaseUrl, own.neonWsProxy, async (pool) => {
        const client = await pool.connect();
        try {
          await client.query("begin");
          await client.query(statement);
          await new Promise((r) => setTimeout(r, ms));
          await client.query("commit");
        } finally {
          client.release();
        }
      }),
    reconcile: () => worker.fireCron("* * * * *"),
    stop: async () => {
      clearInterval(cron);
      if (cronFailures > 0)
        say(
          `(the background every-minute cron failed ${cronFailures} times; see ${worker.logFile})`,
        );
      await worker.stop();
      await own.stop();
      redis.destroy();
      pg.destroy();
      forgetDir();
      if (!process.env.FAULTS_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}
