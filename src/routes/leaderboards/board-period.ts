import type { Context } from "hono";
import type { Board } from "../../db/schema";
import type { PeriodKind } from "../../domain";
import type { AppContext } from "../../env";
import type { ReadContext } from "../../services/leaderboard-reads";
import { acceptanceWindow, selectPeriod } from "../../services/period-selection";
import { readContext } from "../../services/read-context";
import { readableBoard } from "../access";

/**
 * What every leaderboard route starts with: the board (404 if unknown), the period key asked
 * for (`period`, `at`; 400 if invalid), and the stores to read from.
 */
export async function boardPeriodOf(
  c: Context<AppContext>,
  boardId: string,
  query: { period?: PeriodKind | undefined; at?: string | undefined },
): Promise<{ board: Board; period: PeriodKind; periodKey: string; reads: ReadContext }> {
  const reads = readContext(c.env);
  const board = await readableBoard(c, boardId);
  const { period, periodKey } = selectPeriod(board, query.period, query.at, acceptanceWindow(c.env));
  return { board, period, periodKey, reads };
}
