import { type PeriodKind, periodKey, periodRange, previousPeriodKey } from "../domain";
import { boardPrizeOwner, selectPrizeBoards } from "../stores/postgres/board-prizes";
import type { Database } from "../stores/postgres/client";
import type { Board } from "../stores/postgres/schema";
import { finalisedKeys, finaliseStandings } from "../stores/postgres/standings";
import { FINALISE_GRACE_MS } from "./tournaments/finalise";

/** Boards with prizes the job examines per run. */
const BOARD_BATCH = 500;

/**
 * The period of each of a board's daily/weekly/monthly kinds that ended last, its grace past at
 * `now`, if it ended after the board's prizes were set.
 */
function endedPeriods(board: Board, now: number): string[] {
  const at = new Date(now - FINALISE_GRACE_MS);
  return (board.periods as PeriodKind[]).flatMap((kind) => {
    if (kind === "all" || board.prizesSince === null) return [];
    const key = previousPeriodKey(kind, periodKey(kind, at, board.timeZone, board.weekStart));
    const range = key ? periodRange(kind, key, board.timeZone, board.weekStart) : null;
    return key && range && range.end > board.prizesSince ? [key] : [];
  });
}

/**
 * Awards the prizes of every board whose last period ended (grace past) and is not finalised yet,
 * with the tournaments' statement: the (owner, period key) finalisation row is inserted if absent
 * and only that call freezes the standings and awards, so two runs at once award once. A run
 * missed for a whole period leaves that period unawarded: only the last one is looked at.
 */
export async function awardBoardPrizes(
  db: Database,
  now: number,
): Promise<{ examined: number; finalised: number; keys: string[] }> {
  const rows = await selectPrizeBoards(db, BOARD_BATCH);
  const due = rows.flatMap((board) => endedPeriods(board, now).map((key) => ({ board, key })));
  const done = await finalisedKeys(
    db,
    due.map((d) => ({ tournamentId: boardPrizeOwner(d.board.id), instanceKey: d.key })),
  );
  const keys: string[] = [];
  for (const { board, key } of due) {
    const owner = boardPrizeOwner(board.id);
    if (done.has(`${owner}/${key}`)) continue;
    const result = await finaliseStandings(
      db,
      { tournamentId: owner, instanceKey: key, boardId: board.id },
      board.prizes,
    );
    if (result.finalisedNow) keys.push(`${board.id}/${key}`);
  }
  return { examined: rows.length, finalised: keys.length, keys };
}
