import { and, eq, inArray } from "drizzle-orm";
import { boardPeriodKey, type PeriodKind, periodKeysFor } from "../../domain";
import { withTimeout } from "../../lib/timeout";
import { getBoards } from "../../stores/cache/boards";
import { scores } from "../../stores/postgres/schema";
import { boardLoader } from "../boards";
import { type ReadContext, readPlayerRank } from "./reads";

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

/** Longest a player's record lookup may take: past it the route answers 503 rather than hang. */
const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * A player's standing on every board and CURRENT period they have a record in. The boards come
 * from one index lookup (scores_player_idx), the current periods of each from its definition, and
 * the records of those periods from a second lookup, so a long history of past periods never
 * crowds the current ones out; each rank from the usual sources (the board's Durable Object inside
 * its top-N, Redis beyond, Postgres without Redis), all in parallel.
 */
export async function readPlayerRanks(
  ctx: ReadContext,
  playerId: string,
  /** Whether the caller may read private boards; without, only public boards are listed. */
  includePrivate: boolean,
  now = new Date(),
): Promise<BoardRank[]> {
  const boardRows = await withTimeout(
    ctx
      .db()
      .selectDistinct({ boardId: scores.boardId })
      .from(scores)
      .where(eq(scores.playerId, playerId))
      .limit(MAX_BOARDS),
    LOOKUP_TIMEOUT_MS,
    "Postgres lookup of a player's boards",
  );
  const boards = await getBoards(
    boardRows.map((r) => r.boardId),
    boardLoader(ctx.db),
  );
  const readable = [...boards.values()].filter((board) => board.public || includePrivate);
  // An archived board's reads answer 410: it is not listed either.
  const live = readable.filter((board) => !board.archivedAt);
  const wanted = live.flatMap((board) =>
    periodKeysFor(
      {
        periods: board.periods as PeriodKind[],
        timeZone: board.timeZone,
        weekStart: board.weekStart,
      },
      now,
    ).map((p) => ({
      board,
      period: p.period,
      periodKey: p.key,
    })),
  );
  if (wanted.length === 0) return [];
  const held = await withTimeout(
    ctx
      .db()
      .select({ boardId: scores.boardId, periodKey: scores.periodKey })
      .from(scores)
      .where(
        and(
          eq(scores.playerId, playerId),
          inArray(scores.boardId, [...new Set(wanted.map((w) => w.board.id))]),
          inArray(scores.periodKey, [...new Set(wanted.map((w) => w.periodKey))]),
        ),
      ),
    LOOKUP_TIMEOUT_MS,
    "Postgres lookup of a player's records",
  );
  const has = new Set(held.map((r) => boardPeriodKey(r.boardId, r.periodKey)));
  const current = wanted.filter((w) => has.has(boardPeriodKey(w.board.id, w.periodKey)));
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
  return ranks
    .flat()
    .sort((a, b) => a.board.localeCompare(b.board) || a.period.localeCompare(b.period));
}
