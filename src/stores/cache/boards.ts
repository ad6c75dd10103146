import { ApiError } from "../../lib/errors";
import { isSchemaMissing } from "../postgres/errors";
import type { Board } from "../postgres/schema";
import { type Loaded, SwrCache } from "./swr";

/**
 * The board namespace: definitions in isolate memory, in front of the PoP tier
 * (boards-edge.ts). Every event and every read needs its board (operator, periods, time zone),
 * and boards change rarely, so asking Postgres each time would put a query back on the per-event
 * path. Entries go stale after 30 s so edits made by another isolate show up (the whole bound, both
 * tiers: BOARD_EDIT_REACH_MS in boards-edge.ts); unknown ids are
 * remembered for 2 s so a flood of bad ids cannot hammer Postgres.
 *
 * A stale entry is reloaded by the first request that finds it, inside that request (its database
 * handle lives as long as it does); requests arriving meanwhile keep the stale definition for up
 * to 30 s more instead of all waiting for one Postgres round trip. Many ids are loaded at once,
 * and ids another request is loading are waited for through the core's polled flights.
 *
 * Stale-if-error: when Postgres cannot be reached, a definition it gave within STALE_IF_ERROR_MS
 * is served rather than failing the request, and Postgres is asked again at most every
 * RETRY_AFTER_MS. With nothing usable (never loaded, too old, or a board remembered as unknown)
 * the caller gets a 503 with Retry-After, never a 500 and never a 404 it cannot trust.
 */
/**
 * How old a definition may be and still be served while Postgres is unreachable: a day, counted
 * from when Postgres gave it (in this isolate or, through the PoP's Cache API, in another). Boards
 * change rarely (PATCH and DELETE /v1/admin/boards/:board), so a day-old copy differs from the
 * truth only if someone edited the board just before the outage; such an edit then waits for
 * Postgres to come back. A day covers a long incident, including a night before anyone acts;
 * beyond it a copy is no longer trusted and events for the board are refused with 503 until
 * Postgres answers. Bounded at all so that an edited row is not contradicted forever by a
 * long-lived isolate or PoP.
 */
export const STALE_IF_ERROR_MS = 24 * 60 * 60 * 1000;

/** After a failed load, how long until Postgres is asked again for those ids (the Retry-After). */
const RETRY_AFTER_MS = 5_000;

/** How long an isolate uses a definition without asking again (counted from its load's start). */
export const ISOLATE_FRESH_MS = 30_000;

/**
 * The longest a request waits for another's load; meanwhile an older copy is served to others,
 * so an entry may outlive ISOLATE_FRESH_MS by this much.
 */
export const LOAD_WAIT_MS = 6_000;

const definitions = new SwrCache<Board>({
  freshMs: ISOLATE_FRESH_MS,
  staleMs: 30_000,
  negativeMs: 2_000,
  staleIfErrorMs: STALE_IF_ERROR_MS,
  retryAfterMs: RETRY_AFTER_MS,
  // A request path must not wait the driver's 20 s for a definition it may have a copy of.
  loadTimeoutMs: 5_000,
  loadWaitMs: LOAD_WAIT_MS,
  maxPollMs: 50,
  maxEntries: 10_000,
  what: "loading board definitions",
});

/** A board as a loader found it, with when Postgres gave it (default: now). */
export interface LoadedBoard {
  board: Board;
  producedAt?: number;
}

/** What a loader returns: boards found, and the ids it could not ask Postgres about, if any. */
export interface LoadedBoards {
  boards: LoadedBoard[];
  /**
   * Postgres failed for these ids. A board among `boards` with one of these ids is a stale copy
   * (the PoP's) served instead; an id in neither list is unknown to this load.
   */
  failed?: { ids: string[]; error: unknown };
}

export type BoardLoader = (ids: string[]) => Promise<Board[] | LoadedBoards>;

function toLoaded(result: Board[] | LoadedBoards): Loaded<Board> {
  const boards = Array.isArray(result) ? result.map((board) => ({ board })) : result.boards;
  const found = boards.map(({ board, producedAt }: LoadedBoard) => ({
    key: board.id,
    value: board,
    producedAt,
  }));
  if (Array.isArray(result) || !result.failed) return { found };
  const { ids, error } = result.failed;
  return { found, failed: { keys: ids, error } };
}

function unavailable(failures: Array<{ key: string; error: unknown }>): never {
  // A database without the schema is a deployment step missed: the app's error handler answers it
  // with a 503 that says to migrate.
  const first = failures[0];
  if (first && isSchemaMissing(first.error)) throw first.error;
  const seconds = Math.ceil(RETRY_AFTER_MS / 1000);
  const names = failures.map(({ key }) => `"${key}"`).join(", ");
  throw new ApiError(
    "DEPENDENCY_UNAVAILABLE",
    `Board definitions cannot be read (Postgres is unreachable) and this server has no usable ` +
      `copy of ${names}; retry the whole request in ${seconds} s (events are idempotent by id)`,
    { retryAfterSeconds: seconds },
    { "retry-after": String(seconds) },
  );
}

/**
 * Resolves many board ids at once: cached ones immediately, the rest in one query (ids another
 * request is loading are waited for, not loaded twice). Returns only boards that exist; throws a
 * 503 ApiError when Postgres cannot be reached and an id has no usable copy. `now` lets tests
 * place the call in the future.
 */
export async function getBoards(ids: Iterable<string>, load: BoardLoader, now = Date.now()) {
  const loader = async (keys: string[]) => toLoaded(await load(keys));
  const resolved = await definitions.resolve(ids, loader, { now, unavailable });
  const found = new Map<string, Board>();
  for (const [id, { value }] of resolved) found.set(id, value);
  return found;
}

/** Puts a board just written by this isolate, so it is usable at once (no negative entry). */
export function rememberBoard(board: Board): void {
  definitions.set(board.id, board);
}

/** Drops everything; for tests that change boards behind the cache's back. */
export function forgetBoards(): void {
  definitions.clear();
}
