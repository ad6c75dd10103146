import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { migrate } from "drizzle-orm/neon-serverless/migrator";
import { checkDatabase } from "./local-stack/check-database.ts";
import { redactPgUrl, startLocalStack, withDatabase } from "./local-stack/index.ts";
import type { Log } from "./local-stack/log.ts";
import { isLoopbackHost, isNeonHost, pgHostPort } from "./local-stack/pg-url.ts";
import { startPgWsBridge } from "./local-stack/pg-ws-bridge.ts";
import { assertTcpReachable } from "./local-stack/tcp-probe.ts";

export interface RunMigrationsOptions {
  databaseUrl: string;
  /** The local bridge ("127.0.0.1:PORT/v1"); omit or '' for a real Neon host. */
  neonWsProxy?: string;
  log: Log;
  /** Default: <repo>/migrations. */
  migrationsFolder?: string;
}

export interface MigrationResult {
  applied: string[];
}

interface JournalEntry {
  tag: string;
  when: number;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_FOLDER = join(REPO_ROOT, "migrations");
// drizzle-orm's defaults, where it records what it applied.
const MIGRATIONS_TABLE = "drizzle.__drizzle_migrations";

/**
 * Applies drizzle-kit's SQL migrations through the Neon driver (the production driver), for
 * `npm run db:migrate`, `npm run dev` and the vitest global setup. Idempotent: drizzle records what
 * it applied and skips it. Reports each migration it is about to apply, since drizzle's migrate()
 * runs them all in one transaction and says nothing.
 */
export async function runMigrations(opts: RunMigrationsOptions): Promise<MigrationResult> {
  const folder = opts.migrationsFolder ?? DEFAULT_FOLDER;
  const journal = readJournal(folder);
  if (journal.length === 0) {
    opts.log(`no migrations found in ${relativeToRepo(folder)}/: run npm run db:generate`);
    return { applied: [] };
  }
  for (const entry of journal) {
    if (!existsSync(join(folder, `${entry.tag}.sql`))) {
      throw new Error(
        `${relativeToRepo(folder)}/meta/_journal.json lists ${entry.tag} but ${entry.tag}.sql is missing: restore it or regenerate (npm run db:generate)`,
      );
    }
  }

  return withDatabase(opts.databaseUrl, opts.neonWsProxy || undefined, async (pool) => {
    const recorded = await appliedMigrations(pool);
    const last = recorded.reduce((max, row) => Math.max(max, row.createdAt), -Infinity);
    warnAboutEditedMigrations(folder, journal, recorded, opts.log);

    // The same rule drizzle applies: everything newer than the newest recorded migration.
    const pending = journal.filter((entry) => entry.when > last);
    if (pending.length === 0) {
      opts.log(`migrations: up to date (${journal.length} applied, latest ${journal.at(-1)?.tag})`);
      return { applied: [] };
    }
    // One line, however many: a fresh database applies them all.
    const range =
      pending.length === 1
        ? pending[0]?.tag
        : `${pending.length}: ${pending[0]?.tag} … ${pending.at(-1)?.tag}`;
    opts.log(`migrations: applying ${range}`);
    const started = performance.now();
    try {
      await migrate(drizzle({ client: pool }), { migrationsFolder: folder });
    } catch (err) {
      const cause = (err as { cause?: Error }).cause;
      throw new Error(
        `migrations failed and were rolled back (${cause?.message ?? (err as Error).message}): fix the SQL in ${relativeToRepo(folder)}/ and run again`,
        { cause: err },
      );
    }
    const took = ((performance.now() - started) / 1000).toFixed(1);
    opts.log(
      `migrations: applied ${pending.length} in ${took} s, database up to date (latest ${journal.at(-1)?.tag})`,
    );
    return { applied: pending.map((entry) => entry.tag) };
  });
}

function readJournal(folder: string): JournalEntry[] {
  const path = join(folder, "meta", "_journal.json");
  if (!existsSync(path)) return [];
  let parsed: { entries?: JournalEntry[] };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(
      `${relativeToRepo(path)} is not valid JSON (${(err as Error).message}): fix it or regenerate it (npm run db:generate)`,
    );
  }
  return parsed.entries ?? [];
}

async function appliedMigrations(pool: Pool): Promise<Array<{ hash: string; createdAt: number }>> {
  const exists = await pool.query<{ t: string | null }>(
    `select to_regclass('${MIGRATIONS_TABLE}')::text as t`,
  );
  if (!exists.rows[0]?.t) return [];
  const rows = await pool.query<{ hash: string; created_at: string }>(
    `select hash, created_at from ${MIGRATIONS_TABLE}`,
  );
  return rows.rows.map((row) => ({ hash: row.hash, createdAt: Number(row.created_at) }));
}

// drizzle never re-applies a migration, so an applied file edited afterwards silently diverges
// from the database. Say so, with the fix.
function warnAboutEditedMigrations(
  folder: string,
  journal: JournalEntry[],
  recorded: Array<{ hash: string; createdAt: number }>,
  log: Log,
): void {
  const byTime = new Map(recorded.map((row) => [row.createdAt, row.hash]));
  for (const entry of journal) {
    const hash = byTime.get(entry.when);
    if (!hash) continue;
    const current = createHash("sha256")
      .update(readFileSync(join(folder, `${entry.tag}.sql`)))
      .digest("hex");
    if (current !== hash) {
      log(
        `migrations: warning: ${entry.tag}.sql changed after it was applied; the change will not be applied here: put it in a new migration (npm run db:generate), or recreate the database`,
      );
    }
  }
}

function relativeToRepo(path: string): string {
  return path.startsWith(`${REPO_ROOT}/`) ? path.slice(REPO_ROOT.length + 1) : path;
}

// `npm run db:migrate`: a real Neon host directly, a local server through the bridge, or the
// embedded PGlite in .data/pglite when DATABASE_URL is unset.
async function main(): Promise<void> {
  const log: Log = (line) => console.log(`[migrate] ${line}`);
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const stops: Array<() => Promise<void>> = [];
  try {
    let url: string;
    let proxy: string | undefined;
    if (databaseUrl && isNeonHost(databaseUrl)) {
      url = databaseUrl;
    } else if (databaseUrl) {
      const target = pgHostPort(databaseUrl);
      await assertTcpReachable({
        ...target,
        what: `Postgres at ${target.host}:${target.port}`,
        fix: "start it (e.g. pg_ctlcluster 15 main start) or unset DATABASE_URL to migrate the embedded PGlite database",
      });
      const bridge = await startPgWsBridge({
        allowedTargets: (host, port) =>
          isLoopbackHost(host) || (host === target.host && port === target.port),
        log,
      });
      stops.push(bridge.stop);
      url = databaseUrl;
      proxy = bridge.url;
      await checkDatabase(url, proxy, target);
    } else {
      // Redis is irrelevant here: drop the stack's "Upstash disabled" notice.
      const stack = await startLocalStack({
        log: (line) => line.startsWith("no REDIS_URL") || log(line),
      });
      stops.push(stack.stop);
      url = stack.databaseUrl;
      proxy = stack.neonWsProxy;
    }
    log(`connecting to ${redactPgUrl(url)}${proxy ? ` via ${proxy}` : ""}`);
    await runMigrations({ databaseUrl: url, neonWsProxy: proxy, log });
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`[migrate] ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
