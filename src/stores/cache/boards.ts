import { ApiError } from "../../lib/errors";
import { withTimeout } from "../../lib/timeout";
import { isSchemaMissing } from "../postgres/errors";
import type { Board } from "../postgres/schema";

/**
 * Board definitions cached in the isolate. Every event and every read needs its board (operator,
 * periods, time zone), and boards change rarely, so asking Postgres each time would put a query
 * back on the per-event path. Module scope is the only place that outlives a request; everything
 * here is plain data (no I/O object, no promise). Entries go stale after FRESH_MS so edits made by
 * another isolate show up; unknown ids are remembered briefly so a flood of bad ids cannot hammer
 * Postgres.
 *
 * A stale entry is reloaded by the first request that finds it, inside that request (its database
 * handle lives as long as it does); requests arriving meanwhile keep the stale definition for up
 * to STALE_MS more instead of all waiting for one Postgres round trip every FRESH_MS. Requests that
 * need an id another request is loading wait for it by polling this table (their own timers), for
 * at most LOAD_WAIT_MS, then load it themselves: in Workers a promise belongs to the request whose
 * I/O settles it, so awaiting another request's load would hang for good if that request were
 * cancelled or ended first (workerd then kills the waiter as hung, a plain-text 500).
 *
 * Stale-if-error: when Postgres cannot be reached, a definition it gave within STALE_IF_ERROR_MS is
 * served rather than failing the request (see STALE_IF_ERROR_MS for why that long), and Postgres is
 * asked again at most every RETRY_AFTER_MS. With nothing usable (never loaded, too old, or a board
 * remembered as unknown, which is never served past MISSING_MS) the caller gets a 503 with
 * Retry-After, never a 500 and never a 404 it cannot trust.
 */
const FRESH_MS = 30_000;
const STALE_MS = 30_000;
const MISSING_MS = 2_000;
/**
 * How old a definition may be and still be served while Postgres is unreachable: a day, counted
 * from when Postgres gave it (in this isolate or, through the PoP's Cache API, in another). Board
 * definitions have no update route (sort order and operator are immutable; other fields change
 * only by hand in SQL), so a day-old copy differs from the truth only if someone edited the row
 * just before the outage. A day covers a long incident, including a night before anyone acts;
 * beyond it a copy is no longer trusted and events for the board are refused with 503 until
 * Postgres answers. Bounded at all so that a row deleted or edited in SQL is not contradicted
 * forever by a long-lived isolate or PoP.
 */
export const STALE_IF_ERROR_MS = 24 * 60 * 60 * 1000;
/** After a failed load, how long until Postgres is asked again for those ids (and the Retry-After). */
const RETRY_AFTER_MS = 5_000;
/**
 * A load (the PoP's Cache API, then one query) that takes longer is treated as failed: a request
 * path must not wait the driver's 20 s for a definition it may have a usable copy of.
 */
const LOAD_TIMEOUT_MS = 5_000;
/** The longest a request waits for another request's load before loading the ids itself. */
const LOAD_WAIT_MS = LOAD_TIMEOUT_MS + 1_000;
/** Above this many entries, expired "unknown" entries are swept (a flood of bad ids stays bounded). */
const SWEEP_AT = 10_000;

type Entry = {
  /** null: Postgres said there is no such board. */
  board: Board | null;
  /** When this isolate last had it confirmed (freshness counts from here). */
  fetchedAt: number;
  /** When Postgres gave it (stale-if-error counts from here); earlier than fetchedAt for a PoP copy. */
  producedAt: number;
};
const entries = new Map<string, Entry>();
/** Ids some request is loading right now: when it started, and a token naming that load. */
const claims = new Map<string, { at: number; token: symbol }>();
/** Ids whose last load failed: no new attempt before `until`; the error, for the 503 or rethrow. */
const failures = new Map<string, { until: number; error: unknown }>();

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

function normalise(result: Board[] | LoadedBoards, now: number): LoadedBoards {
  if (Array.isArray(result)) return { boards: result.map((board) => ({ board, producedAt: now })) };
  return result;
}

function unavailable(ids: string[]): never {
  const failure = ids.map((id) => failures.get(id)).find((f) => f !== undefined);
  // A database without the schema is a deployment step missed: the app's error handler answers it
  // with a 503 that says to migrate.
  if (failure && isSchemaMissing(failure.error)) throw failure.error;
  const seconds = Math.ceil(RETRY_AFTER_MS / 1000);
  const names = ids.map((id) => `"${id}"`).join(", ");
  throw new ApiError(
    "DEPENDENCY_UNAVAILABLE",
    `Board definitions cannot be read (Postgres is unreachable) and this server has no usable copy of ${names}; retry the whole request in ${seconds} s (events are idempotent by id)`,
    { retryAfterSeconds: seconds },
    { "retry-after": String(seconds) },
  );
}

/** What to do about one id: use the board known, wait for another request's load, or load it. */
type Verdict = Board | "unknown" | "wait" | "load" | "unavailable";

/** `now` places entries in (test) time; `realNow` is the clock claims and failures keep. */
function judge(id: string, now: number, realNow: number): Verdict {
  const entry = entries.get(id);
  const board = entry?.board;
  if (entry && now - entry.fetchedAt < (board ? FRESH_MS : MISSING_MS)) return board ?? "unknown";
  const claim = claims.get(id);
  const claimed = claim !== undefined && realNow - claim.at < LOAD_WAIT_MS;
  if (board && claimed && now - entry.fetchedAt < FRESH_MS + STALE_MS) return board;
  const failure = failures.get(id);
  if (failure && realNow < failure.until) return board && now - entry.producedAt < STALE_IF_ERROR_MS ? board : "unavailable";
  return claimed ? "wait" : "load";
}

/**
 * Resolves many board ids at once: cached ones immediately, the rest in one query (ids another
 * request is loading are waited for, not loaded twice). Returns only boards that exist; throws a
 * 503 ApiError when Postgres cannot be reached and an id has no usable copy.
 */
export async function getBoards(ids: Iterable<string>, load: BoardLoader, now = Date.now()): Promise<Map<string, Board>> {
  // `now` lets tests place the call in the future; time spent waiting here is added to it.
  const startedAt = Date.now();
  const clock = () => now + (Date.now() - startedAt);
  const found = new Map<string, Board>();
  let open = [...new Set(ids)];
  for (let pauseMs = 2; open.length > 0; pauseMs = Math.min(pauseMs * 2, 50)) {
    const at = clock();
    const realNow = Date.now();
    const toLoad: string[] = [];
    const waiting: string[] = [];
    const missing: string[] = [];
    for (const id of open) {
      const verdict = judge(id, at, realNow);
      if (typeof verdict === "object") found.set(id, verdict);
      else if (verdict === "load") toLoad.push(id);
      else if (verdict === "wait") waiting.push(id);
      else if (verdict === "unavailable") missing.push(id);
    }
    if (missing.length > 0) unavailable(missing);
    if (toLoad.length > 0) {
      await loadHere(toLoad, load, clock);
      for (const id of toLoad) {
        const verdict = judge(id, clock(), Date.now());
        if (typeof verdict === "object") found.set(id, verdict);
        else if (verdict === "unavailable") missing.push(id);
      }
      if (missing.length > 0) unavailable(missing);
    }
    open = waiting;
    if (open.length > 0) await new Promise<void>((resolve) => setTimeout(resolve, pauseMs));
  }
  return found;
}

/** Loads `ids` in this request (claiming them, so concurrent requests wait) and records the outcome. */
async function loadHere(ids: string[], load: BoardLoader, clock: () => number): Promise<void> {
  const token = Symbol("board load");
  const realStart = Date.now();
  for (const id of ids) claims.set(id, { at: realStart, token });
  try {
    let result: LoadedBoards;
    try {
      result = normalise(await withTimeout(load(ids), LOAD_TIMEOUT_MS, "loading board definitions"), clock());
    } catch (error) {
      result = { boards: [], failed: { ids, error } };
    }
    const now = clock();
    const failed = new Set(result.failed?.ids ?? []);
    const realNow = Date.now();
    if (result.failed) for (const id of failed) failures.set(id, { until: realNow + RETRY_AFTER_MS, error: result.failed.error });
    const byId = new Map(result.boards.map((loaded) => [loaded.board.id, loaded] as const));
    for (const id of ids) {
      const loaded = byId.get(id);
      const previous = entries.get(id);
      if (failed.has(id)) {
        // A stale copy from the PoP: kept only if newer than what this isolate has; never fresh.
        const producedAt = loaded?.producedAt ?? 0;
        if (loaded && producedAt > (previous?.board ? previous.producedAt : -1)) {
          entries.set(id, { board: loaded.board, fetchedAt: producedAt, producedAt });
        }
        continue;
      }
      failures.delete(id);
      const producedAt = loaded?.producedAt ?? now;
      entries.set(id, { board: loaded?.board ?? null, fetchedAt: now, producedAt });
    }
    sweep(now);
  } finally {
    for (const id of ids) if (claims.get(id)?.token === token) claims.delete(id);
  }
}

function sweep(now: number): void {
  if (entries.size < SWEEP_AT) return;
  for (const [id, entry] of entries) if (!entry.board && now - entry.fetchedAt >= MISSING_MS) entries.delete(id);
  const realNow = Date.now();
  for (const [id, failure] of failures) if (realNow >= failure.until) failures.delete(id);
}

/** Puts a board just written by this isolate, so it is usable at once (no negative entry). */
export function rememberBoard(board: Board): void {
  const now = Date.now();
  entries.set(board.id, { board, fetchedAt: now, producedAt: now });
  failures.delete(board.id);
}

/** Drops everything; for tests that change boards behind the cache's back. */
export function forgetBoards(): void {
  entries.clear();
  claims.clear();
  failures.clear();
}
