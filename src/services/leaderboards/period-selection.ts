import {
  type AcceptanceWindow,
  type PeriodKind,
  resolvePeriodKey,
  unreadablePeriod,
} from "../../domain";
import { ApiError } from "../../lib/errors";
import type { Board } from "../../stores/postgres/schema";

/** The acceptance window of the deployment's [vars], in milliseconds. */
export function acceptanceWindow(env: {
  EVENTS_MAX_AGE_SECONDS: string;
  EVENTS_MAX_FUTURE_SECONDS: string;
}): AcceptanceWindow {
  return {
    maxAgeMs: Number(env.EVENTS_MAX_AGE_SECONDS) * 1000,
    maxFutureMs: Number(env.EVENTS_MAX_FUTURE_SECONDS) * 1000,
  };
}

/**
 * Turns `?period=&at=` into the period key to read. The period must be one the board keeps; the
 * default is "all" when it has it, else its first period; `at` picks a past period ("previous" or a
 * key such as 2026-W47). A malformed key is a 400; a well-formed one the board cannot have (before
 * it existed, not started yet, past the readable window) is a 404, decided here before any store is
 * asked, so reads of made-up periods create no state anywhere.
 */
export function selectPeriod(
  board: Board,
  period: string | undefined,
  at: string | undefined,
  window: AcceptanceWindow,
  now = new Date(),
): { period: PeriodKind; periodKey: string } {
  const periods = board.periods as PeriodKind[];
  const chosen = (period ?? (periods.includes("all") ? "all" : periods[0])) as PeriodKind;
  if (!periods.includes(chosen)) {
    throw new ApiError(
      "BAD_REQUEST",
      `Board "${board.id}" has no "${period}" period; it has: ${periods.join(", ")}`,
    );
  }
  const key = resolvePeriodKey(chosen, at, board.timeZone, board.weekStart, now);
  if (key === null) {
    throw new ApiError(
      "BAD_REQUEST",
      `at="${at}" is not a ${chosen} period key ` +
        "(examples: all, 2026-11-22, 2026-W47, 2026-11, previous)",
    );
  }
  const unreadable = unreadablePeriod(chosen, key, board, now, window);
  if (unreadable)
    throw new ApiError("NOT_FOUND", `Board "${board.id}" has no such period: ${unreadable}`);
  return { period: chosen, periodKey: key };
}
