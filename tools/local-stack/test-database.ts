import { withDatabase } from "./neon-node.ts";
import { withDatabaseName } from "./pg-url.ts";

/**
 * Per-run databases on a real Postgres, so concurrent test runs (and a running `npm run dev`) never
 * see each other's rows. Goes through the Neon driver like everything else.
 */
export async function createTestDatabase(
  adminDatabaseUrl: string,
  neonWsProxy: string,
  name: string,
): Promise<string> {
  assertDatabaseName(name);
  await withDatabase(adminDatabaseUrl, neonWsProxy || undefined, async (pool) => {
    try {
      await pool.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "42P04")
        throw new Error(
          `database "${name}" already exists: drop it (dropDatabase) or pick another name`,
          { cause: err },
        );
      if (code === "42501")
        throw new Error(
          `the DATABASE_URL user may not create databases: use a superuser or grant CREATEDB (ALTER ROLE … CREATEDB)`,
          {
            cause: err,
          },
        );
      throw err;
    }
  });
  return withDatabaseName(adminDatabaseUrl, name);
}

/** Drops a database made by createTestDatabase, disconnecting anything still attached to it. */
export async function dropDatabase(
  adminDatabaseUrl: string,
  neonWsProxy: string,
  name: string,
): Promise<void> {
  assertDatabaseName(name);
  await withDatabase(adminDatabaseUrl, neonWsProxy || undefined, async (pool) => {
    await pool.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

function assertDatabaseName(name: string): void {
  // Interpolated into SQL as an identifier, so only a safe alphabet is accepted.
  if (!/^[a-z0-9_]{1,63}$/.test(name)) {
    throw new Error(`invalid database name "${name}": use 1-63 characters from [a-z0-9_]`);
  }
}
