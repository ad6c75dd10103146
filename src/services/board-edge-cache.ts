import type { Board } from "../db/schema";

/**
 * The second tier of the board cache: board definitions in the PoP's Cache API, shared by every
 * isolate there. A cold isolate (new deploy, scale-out) then learns a board without a database
 * query, which keeps cached and Durable Object reads free of Postgres. Entries live a minute, like
 * an edit's propagation delay elsewhere; cache errors fall through to the origin.
 */
const TTL_SECONDS = 60;
const keyOf = (id: string) => new Request(`https://edge-cache.internal/boards/${encodeURIComponent(id)}`);

function revive(json: string): Board {
  const raw = JSON.parse(json) as Board & { createdAt: string; updatedAt: string };
  return { ...raw, createdAt: new Date(raw.createdAt), updatedAt: new Date(raw.updatedAt) };
}

export async function loadThroughEdge(ids: string[], origin: (ids: string[]) => Promise<Board[]>): Promise<Board[]> {
  let cache: Cache | undefined;
  try {
    cache = await caches.open("boards");
  } catch {
    return origin(ids);
  }
  const edge = cache;
  const hits = await Promise.all(ids.map((id) => edge.match(keyOf(id)).catch(() => undefined)));
  const found: Board[] = [];
  const missing: string[] = [];
  for (const [i, hit] of hits.entries()) {
    if (hit) found.push(revive(await hit.text()));
    else missing.push(ids[i] as string);
  }
  if (missing.length === 0) return found;
  const loaded = await origin(missing);
  await Promise.all(
    loaded.map((board) =>
      edge
        .put(keyOf(board.id), new Response(JSON.stringify(board), { headers: { "cache-control": `public, max-age=${TTL_SECONDS}` } }))
        .catch(() => undefined),
    ),
  );
  return [...found, ...loaded];
}
