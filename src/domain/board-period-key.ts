/**
 * One board-period as a map key. Ids never hold a NUL (board ids and period keys are checked
 * formats), so joining at one is unambiguous.
 */
export const boardPeriodKey = (boardId: string, periodKey: string) =>
  `${boardId}\u0000${periodKey}`;

/**
 * The one spelling of a LeaderboardDO's name, so the consumer, the read routes and the cron all
 * address the same object for a board-period. Board ids and period keys never contain "/", so
 * the name is unambiguous.
 */
export function leaderboardObjectName(boardId: string, periodKey: string): string {
  return `${boardId}/${periodKey}`;
}
