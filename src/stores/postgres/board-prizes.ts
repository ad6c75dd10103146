import { and, isNull, sql } from "drizzle-orm";
import type { Database } from "./client";
import { type Board, boards } from "./schema";

/**
 * The owner under which a board's periods are finalised, in the tables tournaments use
 * (tournament_finalisations, tournament_standings, prizes). A tournament id never starts with
 * "~", so a board's owner never meets a tournament's.
 */
export const boardPrizeOwner = (boardId: string) => `~b.${boardId}`;

/** The board a finalisation owner names, or null for a tournament. */
export function boardOfPrizeOwner(owner: string): string | null {
  return owner.startsWith("~b.") ? owner.slice(3) : null;
}

/** Live boards with prize brackets (boards_prizes_idx), the first `limit` by id. */
export async function selectPrizeBoards(db: Database, limit: number): Promise<Board[]> {
  return db
    .select()
    .from(boards)
    .where(and(sql`${boards.prizes} <> '[]'::jsonb`, isNull(boards.archivedAt)))
    .orderBy(boards.id)
    .limit(limit);
}
