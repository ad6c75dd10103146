import { eq } from "drizzle-orm";
import { scores } from "../db/schema";
import { type PeriodKind, periodKeysFor } from "../domain";
import { getBoards } from "./board-cache";
import { boardLoader } from "./boards";
import { type ReadContext, readPlayerRank } from "./leaderboard-reads";

/** Boards listed at most, so one player's page stays one bounded read. */
const MAX_BOARDS = 100;

export interface BoardRank {
  board: string;
  period: PeriodKind;
  periodKey: string;
  score: number;
  rank: number;
  total: number;
  percentile: number;
  reachedAt: string;
}

/**
 * A player's standing on every board and CURRENT period they have a record in: the records come
 * from one index lookup (scores_player_idx), each rank from the usual sources (the board's Durable
 * Object inside its top-N, Redis beyond, Postgres without Redis), all in parallel.
 */
export async function readPlayerRanks(ctx: ReadContext, playerId: string, now = new Date()): Promise<BoardRank[]> {
  const rows = await ctx
    .db()
    .select({ boardId: scores.boardId, periodKey: scores.periodKey })
    .from(scores)
    .where(eq(scores.playerId, playerId))
    .limit(MAX_BOARDS * 4);
  const boards = await getBoards(
    rows.map((r) => r.boardId),
    boardLoader(ctx.db),
  );
  const current = rows.flatMap((row) => {
    const board = boards.get(row.boardId);
    if (!board) return [];
    const match = periodKeysFor({ periods: board.periods as PeriodKind[], timeZone: board.timeZone, weekStart: board.weekStart }, now).find(
      (p) => p.key === row.periodKey,
    );
    return match ? [{ board, period: match.period, periodKey: row.periodKey }] : [];
  });
  const ranks = await Promise.all(
    current.slice(0, MAX_BOARDS).map(async ({ board, period, periodKey }) => {
      const standing = await readPlayerRank(ctx, board, periodKey, playerId);
      return standing
        ? [
            {
              board: board.id,
              period,
              periodKey,
              score: standing.score,
              rank: standing.rank,
              total: standing.total,
              percentile: standing.percentile,
              reachedAt: standing.reachedAt,
            },
          ]
        : [];
    }),
  );
  return ranks.flat().sort((a, b) => a.board.localeCompare(b.board) || a.period.localeCompare(b.period));
}
