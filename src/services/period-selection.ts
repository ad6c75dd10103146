import type { Board } from "../db/schema";
import { type PeriodKind, resolvePeriodKey } from "../domain";
import { ApiError } from "../lib/errors";

/**
 * Turns `?period=&at=` into the period key to read. The period must be one the board keeps; the
 * default is "all" when it has it, else its first period; `at` picks a past period ("previous" or
 * a key such as 2026-W47).
 */
export function selectPeriod(board: Board, period: string | undefined, at: string | undefined): { period: PeriodKind; periodKey: string } {
  const periods = board.periods as PeriodKind[];
  const chosen = (period ?? (periods.includes("all") ? "all" : periods[0])) as PeriodKind;
  if (!periods.includes(chosen)) {
    throw new ApiError("BAD_REQUEST", `Board "${board.id}" has no "${period}" period; it has: ${periods.join(", ")}`);
  }
  const key = resolvePeriodKey(chosen, at, board.timeZone, board.weekStart);
  if (key === null) {
    throw new ApiError("BAD_REQUEST", `at="${at}" is not a ${chosen} period key (examples: all, 2026-11-22, 2026-W47, 2026-11, previous)`);
  }
  return { period: chosen, periodKey: key };
}
