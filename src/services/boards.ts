import { eq, inArray } from "drizzle-orm";
import type { Bracket } from "../domain";
import { ApiError } from "../lib/errors";
import { getBoards, type LoadedBoards, rememberBoard } from "../stores/cache/boards";
import { loadThroughEdge } from "../stores/cache/boards-edge";
import type { Database } from "../stores/postgres/client";
import { type Board, boards } from "../stores/postgres/schema";

export interface BoardInput {
  id: string;
  name: string;
  sortOrder: "desc" | "asc";
  operator: "best" | "latest" | "increment";
  periods: Array<"all" | "daily" | "weekly" | "monthly">;
  timeZone: string;
  weekStart: "monday" | "sunday";
  minScore?: number | undefined;
  maxScore?: number | undefined;
  scoreOverflow: "reject" | "clamp";
  maxIncrement?: number | undefined;
  maxScoreEventsPerMinute?: number | undefined;
  topSize: number;
  cacheTtlSeconds: number;
  metadata?: Record<string, unknown> | undefined;
  clientWrites: boolean;
  public: boolean;
  /** Awarded when each periodic period ends (services/board-prizes.ts); the route checks them. */
  prizes?: Bracket[] | undefined;
}

/** Creates a board; an existing id is a conflict (PATCH /v1/admin/boards/:board changes one). */
export async function createBoard(db: Database, input: BoardInput): Promise<Board> {
  const [row] = await db
    .insert(boards)
    .values({
      id: input.id,
      name: input.name,
      sortOrder: input.sortOrder,
      operator: input.operator,
      periods: [...new Set(input.periods)],
      timeZone: input.timeZone,
      weekStart: input.weekStart,
      minScore: input.minScore ?? null,
      maxScore: input.maxScore ?? null,
      scoreOverflow: input.scoreOverflow,
      maxIncrement: input.maxIncrement ?? null,
      maxScoreEventsPerMinute: input.maxScoreEventsPerMinute ?? null,
      topSize: input.topSize,
      cacheTtlSeconds: input.cacheTtlSeconds,
      metadata: input.metadata ?? null,
      clientWrites: input.clientWrites,
      public: input.public,
      prizes: input.prizes ?? [],
      prizesSince: input.prizes?.length ? new Date() : null,
    })
    .onConflictDoNothing({ target: boards.id })
    .returning();
  if (!row) {
    throw new ApiError(
      "CONFLICT",
      `Board "${input.id}" already exists; ` +
        "choose another id, or change it with PATCH /v1/admin/boards/:board",
    );
  }
  rememberBoard(row);
  return row;
}

/**
 * The loader the isolate cache calls on a miss: the PoP's Cache API first, then one query for
 * the ids still missing (and the PoP's older copies when that query fails: stale-if-error).
 */
export function boardLoader(db: () => Database) {
  return (ids: string[]): Promise<LoadedBoards> =>
    loadThroughEdge(ids, (missing) =>
      missing.length === 1
        ? db()
            .select()
            .from(boards)
            .where(eq(boards.id, missing[0] as string))
        : db().select().from(boards).where(inArray(boards.id, missing)),
    );
}

/**
 * One board by id, through the isolate cache; 404 when unknown, 410 when archived, 503 with
 * Retry-After when Postgres cannot be reached and no copy of the board is usable.
 */
export async function requireBoard(db: () => Database, id: string): Promise<Board> {
  const board = (await getBoards([id], boardLoader(db))).get(id);
  if (!board)
    throw new ApiError("NOT_FOUND", `Unknown board "${id}"; create it with POST /v1/admin/boards`);
  if (board.archivedAt)
    throw new ApiError(
      "GONE",
      `Board "${id}" was archived on ${board.archivedAt.toISOString()}; ` +
        "its records are kept but it is no longer served",
    );
  return board;
}

/** The public view of a board (API field names). */
export function boardView(board: Board) {
  return {
    id: board.id,
    name: board.name,
    sortOrder: board.sortOrder,
    operator: board.operator,
    periods: board.periods as BoardInput["periods"],
    timeZone: board.timeZone,
    weekStart: board.weekStart,
    minScore: board.minScore ?? undefined,
    maxScore: board.maxScore ?? undefined,
    scoreOverflow: board.scoreOverflow,
    maxIncrement: board.maxIncrement ?? undefined,
    maxScoreEventsPerMinute: board.maxScoreEventsPerMinute ?? undefined,
    topSize: board.topSize,
    cacheTtlSeconds: board.cacheTtlSeconds,
    metadata: board.metadata ?? undefined,
    clientWrites: board.clientWrites,
    public: board.public,
    prizes: board.prizes,
    createdAt: board.createdAt.toISOString(),
    ...(board.archivedAt ? { archivedAt: board.archivedAt.toISOString() } : {}),
  };
}
