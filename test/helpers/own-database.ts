import { sql } from "drizzle-orm";
import { openDatabase } from "../../src/stores/postgres/client";
import { testEnv } from "./factories";

declare global {
  interface ImportMeta {
    /** Vite's build-time file import (the tests are bundled by Vite); only the form used here. */
    glob<T>(
      pattern: string,
      options: { query: "?raw"; import: "default"; eager: true },
    ): Record<string, T>;
  }
}

// Every migration's SQL, bundled at build time (workerd has no file system).
const MIGRATIONS = import.meta.glob<string>("../../migrations/*.sql", {
  query: "?raw",
  import: "default",
  eager: true,
});

/** Rows of one statement on `env`'s database, over a connection of its own. */
export async function queryOn<T>(
  env: typeof testEnv,
  statement: ReturnType<typeof sql>,
): Promise<T[]> {
  const handle = openDatabase(env, { maxConnections: 1 });
  try {
    return (await handle.db.execute(statement)).rows as T[];
  } finally {
    await handle.close();
  }
}

export interface OwnDatabase {
  /** testEnv with DATABASE_URL pointing at this database. */
  env: typeof testEnv;
  drop(): Promise<void>;
}

/**
 * A fresh database with every migration applied, for tests whose effects are global (dropping
 * event partitions, per-hour counters) and would otherwise meet other files' rows. Created on the
 * run database's server; dropped by drop(). Null on embedded PGlite (DATABASE_URL unset), which
 * serves a single database. `through`: stop after that migration (its number), for tests of a
 * later migration on rows written under the older schema; migrateOwnDatabase applies the rest.
 */
export async function ownDatabase(
  tag: string,
  options: { through?: number } = {},
): Promise<OwnDatabase | null> {
  const name = `${tag}_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  const url = new URL(testEnv.DATABASE_URL);
  url.pathname = `/${name}`;
  const env = { ...testEnv, DATABASE_URL: url.toString() };
  const admin = openDatabase(testEnv, { maxConnections: 1 });
  try {
    await admin.db.execute(sql.raw(`create database "${name}"`));
  } finally {
    await admin.close();
  }
  const drop = async () => {
    const admin = openDatabase(testEnv, { maxConnections: 1 });
    try {
      await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`));
    } finally {
      await admin.close();
    }
  };
  const own = openDatabase(env, { maxConnections: 1 });
  try {
    // Embedded PGlite (DATABASE_URL unset) serves one database whatever the name: none of its own.
    const current = await own.db.execute<{ name: string }>(sql`select current_database() as name`);
    if (current.rows[0]?.name !== name) {
      await own.close();
      await drop();
      return null;
    }
    await applyMigrations(own, -1, options.through ?? Number.POSITIVE_INFINITY);
  } catch (error) {
    await own.close();
    await drop();
    throw error;
  }
  await own.close();
  return { env, drop };
}

/** Applies the migrations numbered after `after` to a database made with ownDatabase(through). */
export async function migrateOwnDatabase(own: OwnDatabase, after: number): Promise<void> {
  const handle = openDatabase(own.env, { maxConnections: 1 });
  try {
    await applyMigrations(handle, after, Number.POSITIVE_INFINITY);
  } finally {
    await handle.close();
  }
}

/**
 * The migrations numbered in (after, through], in one transaction, as drizzle's migrator applies
 * them (some statements need one).
 */
async function applyMigrations(
  handle: ReturnType<typeof openDatabase>,
  after: number,
  through: number,
): Promise<void> {
  const paths = Object.keys(MIGRATIONS)
    .sort()
    .filter((path) => {
      const number = Number(/(\d+)_[^/]*\.sql$/.exec(path)?.[1]);
      return number > after && number <= through;
    });
  await handle.db.transaction(async (tx) => {
    for (const path of paths) {
      for (const statement of (MIGRATIONS[path] ?? "").split("--> statement-breakpoint")) {
        if (statement.trim()) await tx.execute(sql.raw(statement));
      }
    }
  });
}
