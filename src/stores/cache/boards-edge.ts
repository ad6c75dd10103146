import type { Board } from "../postgres/schema";
import { type LoadedBoard, type LoadedBoards, STALE_IF_ERROR_MS } from "./boards";

/**
 * The second tier of the board cache: board definitions in the PoP's Cache API, shared by every
 * isolate there. A cold isolate (new deploy, scale-out) then learns a board without a database
 * query, which keeps cached and Durable Object reads free of Postgres. An entry is fresh for a
 * minute (FRESH_MS), like an edit's propagation delay elsewhere; the Cache API keeps it for
 * STALE_IF_ERROR_MS, with the time Postgres produced it in a header of its own, so that a cold
 * isolate can still use a definition when Postgres cannot be reached (stale-if-error, the bound and
 * its reason are in board-cache.ts). Cache errors fall through to the origin.
 */
const FRESH_MS = 60_000;
const KEEP_SECONDS = Math.floor(STALE_IF_ERROR_MS / 1000);
const PRODUCED_AT = "x-board-produced-at";
const keyOf = (id: string) => new Request(`https://edge-cache.internal/boards/${encodeURIComponent(id)}`);

/** Columns added after a copy may have been cached, at their database defaults. */
const LATER_COLUMNS = { clientWrites: true, public: true, maxIncrement: null, maxScoreEventsPerMinute: null } satisfies Partial<Board>;

function revive(json: string): Board {
  const raw = JSON.parse(json) as Board & { createdAt: string; updatedAt: string };
  return { ...LATER_COLUMNS, ...raw, createdAt: new Date(raw.createdAt), updatedAt: new Date(raw.updatedAt) };
}

/** A cached copy, with when Postgres produced it (0 for an entry stored without the header). */
async function read(hit: Response): Promise<LoadedBoard & { producedAt: number }> {
  const producedAt = Number(hit.headers.get(PRODUCED_AT) ?? 0);
  return { board: revive(await hit.text()), producedAt: Number.isFinite(producedAt) ? producedAt : 0 };
}

/**
 * Fresh copies from the PoP, the rest from `origin` (stored back with the time). When the origin
 * fails, ids with a copy within the stale-if-error bound are answered with it, and every id it
 * failed for is reported in `failed`; boards the origin no longer has lose their copy.
 */
export async function loadThroughEdge(ids: string[], origin: (ids: string[]) => Promise<Board[]>, now = Date.now()): Promise<LoadedBoards> {
  let cache: Cache | undefined;
  try {
    cache = await caches.open("boards");
  } catch {
    return { boards: (await origin(ids)).map((board) => ({ board, producedAt: now })) };
  }
  const edge = cache;
  const hits = await Promise.all(ids.map((id) => edge.match(keyOf(id)).catch(() => undefined)));
  const fresh: LoadedBoard[] = [];
  const stale = new Map<string, LoadedBoard & { producedAt: number }>();
  const ask: string[] = [];
  for (const [i, hit] of hits.entries()) {
    const id = ids[i] as string;
    const copy = hit ? await read(hit).catch(() => undefined) : undefined;
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
  await Promise.all([
    ...loaded.map((board) =>
      edge
        .put(
          keyOf(board.id),
          new Response(JSON.stringify(board), {
            headers: { "cache-control": `public, max-age=${KEEP_SECONDS}`, [PRODUCED_AT]: String(now) },
          }),
        )
        .catch(() => undefined),
    ),
    ...[...stale.keys()].filter((id) => !returned.has(id)).map((id) => edge.delete(keyOf(id)).catch(() => false)),
  ]);
  return { boards: [...fresh, ...loaded.map((board) => ({ board, producedAt: now }))] };
}
