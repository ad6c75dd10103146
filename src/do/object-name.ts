/**
 * The one spelling of a LeaderboardDO's name, so the consumer, the read routes and the cron all
 * address the same object for a board-period. Board ids and period keys never contain "/", so
 * the name is unambiguous.
 */
export function leaderboardObjectName(boardId: string, periodKey: string): string {
  return `${boardId}/${periodKey}`;
}
