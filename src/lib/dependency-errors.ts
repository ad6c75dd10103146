/**
 * SQLSTATE classes that say the database could not serve the statement, not that the statement
 * was wrong: connection exceptions (08), insufficient resources (53), operator intervention such
 * as a shutdown or a cancelled statement (57), system errors (58), an unknown database (3D), and
 * serialization failures and deadlocks (40).
 */
const UNAVAILABLE_STATES = /^(08|53|57|58|3D|40)/;

/** What a fetch, socket or proxy says when the far side is down or too slow. */
const UNREACHABLE =
  /fetch failed|network connection lost|econnrefused|econnreset|enotfound|connection terminated|socket hang up|timed out|timeout|did not answer|unreachable|could not reach|connection refused|error connecting/i;

type Shape = {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  retryable?: unknown;
  overloaded?: unknown;
};

/**
 * The dependency a failure belongs to ("Postgres", "a Durable Object", "the network"), or null
 * when it looks like a fault of our own code. A request that fails because a dependency is down
 * answers 503 with Retry-After (the client should come back); anything else is a 500 and a bug.
 * Walks the `cause` chain, since drizzle and the RPC layer wrap what actually happened.
 */
export function failedDependency(error: unknown): string | null {
  for (
    let e = error as Shape | undefined, depth = 0;
    e && typeof e === "object" && depth < 4;
    depth += 1
  ) {
    if (e.overloaded === true || e.retryable === true) return "a Durable Object";
    const name = typeof e.name === "string" ? e.name : "";
    const message = typeof e.message === "string" ? e.message : "";
    const state = typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
    if (state !== undefined && UNAVAILABLE_STATES.test(state)) return "Postgres";
    if (name === "NeonDbError" && state === undefined) return "Postgres";
    if (name === "TimeoutError" || name === "AbortError") return "the network";
    if (UNREACHABLE.test(message)) return "the network";
    e = e.cause as Shape | undefined;
  }
  return null;
}

/** How long a client should wait before retrying a request a dependency failed. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;
