import type { Board } from "../db/schema";

/**
 * Board definitions cached in the isolate. Every event and every read needs its board (operator,
 * periods, time zone), and boards change rarely, so asking Postgres each time would put a query
 * back on the per-event path. Module scope is the only place that outlives a request; it holds
 * plain data, no I/O objects. Entries go stale after FRESH_MS so edits made by another isolate
 * show up; unknown ids are remembered briefly so a flood of bad ids cannot hammer Postgres.
 *
 * A stale entry is reloaded by the first request that finds it, inside that request (its database
 * handle lives as long as it does); requests arriving meanwhile keep the stale definition for up
 * to STALE_MS more instead of all waiting for one Postgres round trip every FRESH_MS.
 */
const FRESH_MS = 30_000;
const STALE_MS = 30_000;
const MISSING_MS = 2_000;

type Entry = { board: Board | null; expiresAt: number };
const entries = new Map<string, Entry>();
/** Loads in flight, so concurrent misses for one board share a single query. */
const loading = new Map<string, Promise<Map<string, Board>>>();
/** Ids being reloaded right now (their stale entries are still served). */
const refreshing = new Set<string>();

export type BoardLoader = (ids: string[]) => Promise<Board[]>;

/**
 * Resolves many board ids at once: cached ones immediately, the rest in one query (shared with
 * any concurrent caller asking for the same ids). Returns only boards that exist.
 */
export async function getBoards(ids: Iterable<string>, load: BoardLoader, now = Date.now()): Promise<Map<string, Board>> {
  const found = new Map<string, Board>();
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    const entry = entries.get(id);
    const usable = entry && (entry.expiresAt > now || (entry.board && refreshing.has(id) && entry.expiresAt + STALE_MS > now));
    if (usable) {
      if (entry.board) found.set(id, entry.board);
    } else {
      missing.push(id);
    }
  }
  if (missing.length === 0) return found;

  const key = missing.sort().join("\u0000");
  let pending = loading.get(key);
  if (!pending) {
    for (const id of missing) if (entries.get(id)?.board) refreshing.add(id);
    pending = load(missing)
      .then((rows) => {
        const byId = new Map(rows.map((board) => [board.id, board] as const));
        const at = Date.now();
        for (const id of missing) {
          const board = byId.get(id) ?? null;
          entries.set(id, { board, expiresAt: at + (board ? FRESH_MS : MISSING_MS) });
        }
        return byId;
      })
      .finally(() => {
        loading.delete(key);
        for (const id of missing) refreshing.delete(id);
      });
    loading.set(key, pending);
  }
  for (const [id, board] of await pending) found.set(id, board);
  return found;
}

/** Puts a board just written by this isolate, so it is usable at once (no negative entry). */
export function rememberBoard(board: Board): void {
  entries.set(board.id, { board, expiresAt: Date.now() + FRESH_MS });
}

/** Drops everything; for tests that change boards behind the cache's back. */
export function forgetBoards(): void {
  entries.clear();
  refreshing.clear();
}
