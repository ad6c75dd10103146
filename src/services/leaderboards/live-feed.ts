/**
 * Where a live-feed socket goes: to a LiveRelay of the board-period, never to its LeaderboardDO
 * (docs/design.md, "Live feed"). Relays come in tiers of doubling size (domain/live-protocol.ts,
 * tierRange): the connection tries a random relay of the first tier and moves to the next tier
 * each time the relay it tried is full, so relays are added as sockets arrive and no object
 * counts the sockets of a board.
 */
import { MAX_TIERS, tierRange } from "../../domain/live-protocol";
import { ApiError } from "../../lib/errors";
import type { Stores } from "../../stores";

/** Sockets per relay unless LIVE_RELAY_CAPACITY says otherwise. */
const DEFAULT_CAPACITY = 2_000;
/** Relays each node of the relay tree feeds unless LIVE_RELAY_FANOUT says otherwise. */
const DEFAULT_FANOUT = 32;

function positiveInt(raw: string | undefined, fallback: number): number {
  const value = Number(raw);
  return raw !== undefined && raw !== "" && Number.isSafeInteger(value) && value > 0
    ? value
    : fallback;
}

/**
 * Opens the upgrade `request` on a relay with room for it; the relay answers 101 with the
 * socket and sends the snapshot. A 503 when every tier tried was full or a relay failed.
 */
export async function connectLiveFeed(
  stores: Stores,
  boardId: string,
  periodKey: string,
  limit: number,
  request: Request,
  random: () => number = Math.random,
): Promise<Response> {
  const capacity = positiveInt(stores.env.LIVE_RELAY_CAPACITY, DEFAULT_CAPACITY);
  const fanout = positiveInt(stores.env.LIVE_RELAY_FANOUT, DEFAULT_FANOUT);
  for (let tier = 0; tier < MAX_TIERS; tier += 1) {
    const { start, end } = tierRange(tier);
    const index = start + Math.min(end - start - 1, Math.floor(random() * (end - start)));
    const url = new URL(request.url);
    url.search = new URLSearchParams({
      board: boardId,
      period: periodKey,
      index: String(index),
      fanout: String(fanout),
      capacity: String(capacity),
      limit: String(limit),
    }).toString();
    const response = await stores
      .liveRelay(boardId, periodKey, index)
      .fetch(new Request(url, request));
    if (response.status === 101) return response;
    if (response.headers.get("x-relay-full") === null) {
      throw new ApiError(
        "DEPENDENCY_UNAVAILABLE",
        `The live feed refused the connection (${response.status})`,
      );
    }
  }
  throw new ApiError("DEPENDENCY_UNAVAILABLE", "The live feed is full; try again later");
}
