import { parsePastPeriodDays, pastPeriodExpiryMs } from "../../domain";
import { leaderboardObjectName } from "../../domain/board-period-key";
import type { BoardPeriod } from "../../domain/leaderboard";
import type { AppBindings } from "../../env";
import type { Board } from "../postgres/schema";

const LOCATION_HINTS = new Set<string>([
  "wnam",
  "enam",
  "sam",
  "weur",
  "eeur",
  "apac",
  "apac-ne",
  "apac-se",
  "oc",
  "afr",
  "me",
]);

/**
 * OBJECT_LOCATION_HINT as get options: where a board's object is created, near the database it
 * rebuilds from (an empty or unknown value: none, the object starts near its first caller).
 */
export function objectPlacement(env: AppBindings): DurableObjectNamespaceGetDurableObjectOptions {
  const hint = env.OBJECT_LOCATION_HINT?.trim() ?? "";
  return LOCATION_HINTS.has(hint) ? { locationHint: hint as DurableObjectLocationHint } : {};
}

/**
 * The LeaderboardDO of one board-period (creating a stub is free; it does not wake the object).
 * The hint only matters when the object is first created; one that exists stays where it is.
 */
export function leaderboardStub(env: AppBindings, boardId: string, periodKey: string) {
  return env.LEADERBOARD.getByName(leaderboardObjectName(boardId, periodKey), objectPlacement(env));
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
