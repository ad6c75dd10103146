import type { Board } from "../postgres/schema";
import {
  ISOLATE_FRESH_MS,
  LOAD_WAIT_MS,
  type LoadedBoard,
  type LoadedBoards,
  STALE_IF_ERROR_MS,
} from "./boards";
import { EdgeTier } from "./edge";

/**
 * The board namespace's second tier: definitions in the PoP's Cache API, shared by every
 * isolate there. A cold isolate (new deploy, scale-out) then learns a board without a database
 * query, which keeps cached and Durable Object reads free of Postgres. An entry is fresh for a
 * minute (FRESH_MS), like an edit's propagation delay elsewhere; the Cache API keeps it for
 * STALE_IF_ERROR_MS, with the time Postgres produced it, so that a cold isolate can still use a
 * definition when Postgres cannot be reached (stale-if-error; the bound and its reason are in
 * boards.ts). Cache errors fall through to the origin.
 */
const FRESH_MS = 60_000;

/**
 * How long after a board edit commits every isolate of every PoP uses it (Postgres reachable):
 * a PoP copy made just before the edit stays fresh FRESH_MS, an isolate that loads it at the end
 * of that keeps it ISOLATE_FRESH_MS, and serves it LOAD_WAIT_MS more while a reload runs. The
 * isolate and PoP that served the edit have it at once (rememberBoard, storeAtEdge).
 */
export const BOARD_EDIT_REACH_MS = FRESH_MS + ISOLATE_FRESH_MS + LOAD_WAIT_MS;
const KEEP_SECONDS = Math.floor(STALE_IF_ERROR_MS / 1000);
const edge = new EdgeTier("boards", "x-board-produced-at");
const keyOf = (id: string) => `https://edge-cache.internal/boards/${encodeURIComponent(id)}`;

/** Columns added after a copy may have been cached, at their database defaults. */
const LATER_COLUMNS = {
  clientWrites: true,
  public: true,
  maxIncrement: null,
  maxScoreEventsPerMinute: null,
  archivedAt: null,
  prizes: [],
  prizesSince: null,
} satisfies Partial<Board>;

function revive(json: string): Board {
  const raw = JSON.parse(json) as Board & {
    createdAt: string;
    updatedAt: string;
    archivedAt?: string | null;
    prizesSince?: string | null;
  };
  const dates = {
    createdAt: new Date(raw.createdAt),
    updatedAt: new Date(raw.updatedAt),
    archivedAt: raw.archivedAt ? new Date(raw.archivedAt) : null,
    prizesSince: raw.prizesSince ? new Date(raw.prizesSince) : null,
  };
  return { ...LATER_COLUMNS, ...raw, ...dates };
}

/** The PoP's copy of a board, with when Postgres produced it, or undefined. */
async function read(id: string): Promise<(LoadedBoard & { producedAt: number }) | undefined> {
  const copy = await edge.read(keyOf(id));
  if (!copy) return undefined;
  try {
    return { board: revive(copy.body), producedAt: copy.producedAt };
  } catch {
    return undefined;
  }
}

type Origin = (ids: string[]) => Promise<Board[]>;
type EdgeLoad = (ids: string[], origin: Origin, now?: number) => Promise<LoadedBoards>;

/**
 * Fresh copies from the PoP, the rest from `origin` (stored back with the time). When the origin
 * fails, ids with a copy within the stale-if-error bound are answered with it, and every id it
 * failed for is reported in `failed`; boards the origin no longer has lose their copy.
 */
export const loadThroughEdge: EdgeLoad = async (ids, origin, now = Date.now()) => {
  const copies = await Promise.all(ids.map(read));
  const fresh: LoadedBoard[] = [];
  const stale = new Map<string, LoadedBoard & { producedAt: number }>();
  const ask: string[] = [];
  for (const [i, copy] of copies.entries()) {
    const id = ids[i] as string;
    if (copy && now - copy.producedAt < FRESH_MS) {
      fresh.push(copy);
      continue;
    }
    if (copy && now - copy.producedAt < STALE_IF_ERROR_MS) stale.set(id, copy);
    ask.push(id);
  }
  if (ask.length === 0) return { boards: fresh };

  let loaded: Board[];
  try {
    loaded = await origin(ask);
  } catch (error) {
    return { boards: [...fresh, ...stale.values()], failed: { ids: ask, error } };
  }
  const returned = new Set(loaded.map((board) => board.id));
  const write = { producedAt: now, keepSeconds: KEEP_SECONDS };
  const gone = [...stale.keys()].filter((id) => !returned.has(id));
  await Promise.all([
    ...loaded.map((board) => edge.write(keyOf(board.id), JSON.stringify(board), write)),
    ...gone.map((id) => edge.delete(keyOf(id))),
  ]);
  return { boards: [...fresh, ...loaded.map((board) => ({ board, producedAt: now }))] };
};

/**
 * Replaces this PoP's copy with a definition just written to Postgres, so every isolate here that
 * loads it next gets the edit; other PoPs keep theirs until it ages out (FRESH_MS).
 */
export async function storeAtEdge(board: Board, now = Date.now()): Promise<void> {
  await edge.write(keyOf(board.id), JSON.stringify(board), {
    producedAt: now,
    keepSeconds: KEEP_SECONDS,
  });
}
