import { isPartitionMissing, isSchemaMissing, sqlState } from "../stores/postgres/errors";

/**
 * Retry policy of the consumers. The Neon driver never retries, so the consumer owns it:
 * exponential backoff per message, and an explicit dead letter (with the error) once a message
 * has failed MAX_ATTEMPTS times, before the platform's own max_retries (20 in wrangler.toml)
 * would move it there without saying why. With these numbers a database may be down for about
 * 40 minutes before anything is dead-lettered, and dead letters can be replayed.
 */
export const MAX_ATTEMPTS = 12;
const MAX_DELAY_SECONDS = 300;

export function backoffSeconds(attempts: number): number {
  return Math.min(2 ** Math.max(1, attempts), MAX_DELAY_SECONDS);
}

export function exhausted(attempts: number): boolean {
  return attempts >= MAX_ATTEMPTS;
}

/**
 * Errors that will fail the same way on every retry: Postgres data exceptions (22), integrity
 * violations (23) and statement errors (42). They are isolated by splitting the batch, and the one
 * message that causes them is dead-lettered. Anything else (connection refused, timeouts, restarts,
 * serialization failures) is transient and retried, and so is a missing table or column: that is
 * a migration not yet run, and every event would otherwise be dead-lettered one by one until it is.
 * A missing event_ids day partition is the same kind of thing (an upkeep not run): retried.
 */
export function isPermanentDatabaseError(error: unknown): boolean {
  const code = sqlState(error);
  return (
    code !== undefined &&
    /^(22|23|42)/.test(code) &&
    !isSchemaMissing(error) &&
    !isPartitionMissing(error)
  );
}
