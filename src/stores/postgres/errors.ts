/** The SQLSTATE of a Postgres error, also when drizzle wrapped it (DrizzleQueryError.cause). */
export function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 3; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

// undefined_table, undefined_column, invalid_schema_name: what a query of this code gets from a
// database that was never migrated, or migrated by an older release.
const SCHEMA_MISSING = new Set(["42P01", "42703", "3F000"]);

/**
 * True when the database lacks a table or column this code uses: a deployment step was missed
 * (`npm run db:migrate`), not a bad request or a bad event, so it is retried and reported as
 * unavailable, never blamed on the input.
 */
export function isSchemaMissing(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && SCHEMA_MISSING.has(code);
}

/** What an operator does about it, for log lines and error bodies. */
export const MIGRATE_HINT =
  "the database schema is missing or older than this code: " +
  "run `npm run db:migrate` with this deployment's DATABASE_URL";

/**
 * True when a row has no partition to go to (check_violation "no partition of relation ... found
 * for row"): for event_ids, a day more than IDEMPOTENCY_DAYS_AHEAD ahead, so the daily upkeep has
 * not run for a week. Not the event's fault: retried until an upkeep run creates the day.
 */
export function isPartitionMissing(error: unknown): boolean {
  if (sqlState(error) !== "23514") return false;
  for (let e: unknown = error, depth = 0; e && depth < 3; depth += 1) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && message.includes("no partition of relation")) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
