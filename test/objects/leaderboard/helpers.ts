/**
 * Per-test LeaderboardDO stubs: every test addresses its own object (unique board id), so no
 * state is shared between tests or runs.
 */
import { env } from "cloudflare:workers";
import type { SortOrder } from "../../../src/domain";
import { leaderboardObjectName } from "../../../src/domain/board-period-key";
import type { BoardPeriod } from "../../../src/domain/leaderboard";
import { uniqueId } from "../../helpers/factories";

/** A board-period config with a fresh id (or `boardId`, for boards that exist in Postgres). */
export function boardPeriod(
  options: { sortOrder?: SortOrder; topSize?: number; boardId?: string; periodKey?: string } = {},
): BoardPeriod {
  return {
    boardId: options.boardId ?? uniqueId("do-board"),
    periodKey: options.periodKey ?? "all",
    sortOrder: options.sortOrder ?? "desc",
    topSize: options.topSize ?? 1000,
  };
}

/** The stub of the object serving `board`. */
export function stubFor(board: BoardPeriod) {
  return env.LEADERBOARD.getByName(leaderboardObjectName(board.boardId, board.periodKey));
}

/**
 * The message of a rejected RPC call. Only awaited, never handed to `expect(..).rejects`: that
 * touches properties of the RPC promise, and each touch is a pipelined call that rejects again.
 */
export async function failure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected the call to fail");
}
