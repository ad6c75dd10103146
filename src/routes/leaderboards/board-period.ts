import type { Context } from "hono";
import type { PeriodKind } from "../../domain";
import { acceptanceWindow, selectPeriod } from "../../services/leaderboards/period-selection";
import type { ReadContext } from "../../services/leaderboards/reads";
import type { Board } from "../../stores/postgres/schema";
import { readableBoard } from "../access";
import type { AppContext } from "../context";

/**
 * What every leaderboard route starts with: the board (404 if unknown), the period key asked
 * for (`period`, `at`; 400 if invalid), and the stores to read from.
 */
export async function boardPeriodOf(
  c: Context<AppContext>,
  boardId: string,
  query: { period?: PeriodKind | undefined; at?: string | undefined },
): Promise<{ board: Board; period: PeriodKind; periodKey: string; reads: ReadContext }> {
  const reads = c.get("stores");
  const board = await readableBoard(c, boardId);
  const { period, periodKey } = selectPeriod(
    board,
    query.period,
    query.at,
    acceptanceWindow(c.env),
  );
  return { board, period, periodKey, reads };
}
