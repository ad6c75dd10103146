import { ApiError } from "../../lib/errors";
import { boardOfPrizeOwner } from "../../stores/postgres/board-prizes";
import type { Database } from "../../stores/postgres/client";
import { claimPrize, type PrizeRow, selectPrizes } from "../../stores/postgres/prizes";

/**
 * A prize as the API shows it: ids as strings (bigint identity); a board period's prize names its
 * board (its owner in the prize tables is the board's, stores/postgres/board-prizes.ts).
 */
function prizeView(p: PrizeRow) {
  const boardId = boardOfPrizeOwner(p.tournamentId);
  return {
    ...p,
    id: String(p.id),
    tournamentId: boardId === null ? p.tournamentId : null,
    boardId,
  };
}

export async function listPrizes(
  db: Database,
  playerId: string,
  options: { status: "pending" | "claimed"; limit: number; cursor?: string | undefined },
) {
  const rows = await selectPrizes(
    db,
    playerId,
    options.status,
    Number(options.cursor ?? 0),
    options.limit + 1,
  );
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    prizes: page.map(prizeView),
    nextCursor: rows.length > options.limit && last ? String(last.id) : null,
  };
}

/** Claims a player's prize (404 if they have none with that id); a repeat answers the same. */
export async function claim(db: Database, playerId: string, prizeId: number) {
  const claimed = await claimPrize(db, playerId, prizeId);
  if (!claimed) throw new ApiError("NOT_FOUND", `player "${playerId}" has no prize ${prizeId}`);
  return prizeView(claimed.prize);
}
