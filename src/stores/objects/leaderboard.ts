import { parsePastPeriodDays, pastPeriodExpiryMs } from "../../domain";
import { leaderboardObjectName } from "../../domain/board-period-key";
import type { BoardPeriod } from "../../domain/leaderboard";
import type { AppBindings } from "../../env";
import type { Board } from "../postgres/schema";

/** The LeaderboardDO of one board-period (creating a stub is free; it does not wake the object). */
export function leaderboardStub(env: AppBindings, boardId: string, periodKey: string) {
  return env.LEADERBOARD.getByName(leaderboardObjectName(boardId, periodKey));
}

/**
 * What the object of a board-period is told with every write and rebuild: how it ranks, how many
 * it holds, and when it may drop its storage (OBJECT_PAST_PERIOD_DAYS after the period ends).
 */
/** What objectConfig needs of a board. */
export type ObjectBoard = Pick<Board, "id" | "sortOrder" | "topSize" | "timeZone" | "weekStart">;

export function objectConfig(env: AppBindings, board: ObjectBoard, periodKey: string): BoardPeriod {
  const pastDays = parsePastPeriodDays(env.OBJECT_PAST_PERIOD_DAYS, "OBJECT_PAST_PERIOD_DAYS");
  return {
    boardId: board.id,
    periodKey,
    sortOrder: board.sortOrder,
    topSize: board.topSize,
    archiveAt: pastPeriodExpiryMs(board, periodKey, pastDays),
  };
}
