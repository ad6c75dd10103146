import { withDatabase } from "./neon-node.ts";
import { redactPgUrl } from "./pg-url.ts";

/**
 * Connects once through the driver and turns the usual setup mistakes (missing database, wrong
 * password) into instructions: a listening port is not enough, and these would otherwise surface
 * later as an opaque failure inside the worker.
 */
export async function checkDatabase(
  databaseUrl: string,
  neonWsProxy: string,
  target: { host: string; port: number },
): Promise<void> {
  const where = `Postgres at ${target.host}:${target.port}`;
  try {
    await withDatabase(databaseUrl, neonWsProxy, (pool) => pool.query("select 1"));
  } catch (err) {
    const code = (err as { code?: string }).code;
    const name = new URL(databaseUrl).pathname.slice(1) || "postgres";
    const message = (err as Error).message;
    if (code === "3D000") {
      throw new Error(
        `${where} has no database "${name}": create it (createdb -h ${target.host} -p ${target.port} -U postgres ${name}) or fix DATABASE_URL`,
        { cause: err },
      );
    }
    if (code === "28P01" || code === "28000") {
      throw new Error(
        `${where} rejected the credentials in DATABASE_URL (${message}): fix the user/password`,
        { cause: err },
      );
    }
    throw new Error(
      `${where} could not be used with ${redactPgUrl(databaseUrl)} (${message}): fix DATABASE_URL or unset it to use the embedded PGlite database`,
      { cause: err },
    );
  }
}
