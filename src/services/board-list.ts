import { and, asc, gt, isNull, notLike, type SQL } from "drizzle-orm";
import { ApiError } from "../lib/errors";
import type { Database } from "../stores/postgres/client";
import { type Board, boards } from "../stores/postgres/schema";

/** What a board id may look like (the route's BoardIdSchema): a cursor naming anything else is junk. */
const BOARD_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PREFIX = "b1:";

/**
 * The list cursor: the last id of a page, base64url-encoded. Opaque to clients so the order (by
 * id) can change later without breaking the contract.
 */
function encodeListCursor(lastId: string): string {
  return btoa(`${PREFIX}${lastId}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeListCursor(cursor: string): string {
  let text = "";
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    // Not base64: refused below like any other cursor we did not issue.
  }
  const id = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : "";
  if (!BOARD_ID.test(id) || encodeListCursor(id) !== cursor)
    throw new ApiError(
      "BAD_REQUEST",
      "cursor is not a nextCursor of GET /v1/admin/boards; start again without it",
    );
  return id;
}

export interface BoardListOptions {
  limit: number;
  cursor?: string | undefined;
  includeArchived: boolean;
}

/**
 * A page of boards in id order, straight from Postgres (an operator wants the truth, not a cached
 * copy). Keyset pagination on the primary key: a board created or archived between two pages
 * never shifts the others.
 */
export async function listBoards(
  db: Database,
  options: BoardListOptions,
): Promise<{ boards: Board[]; nextCursor: string | null }> {
  const where: SQL[] = [];
  if (options.cursor !== undefined) where.push(gt(boards.id, decodeListCursor(options.cursor)));
  if (!options.includeArchived) where.push(isNull(boards.archivedAt));
  // Tournaments' hidden boards ("~t.<id>") are listed with their tournaments, not here.
  where.push(notLike(boards.id, "~%"));
  const rows = await db
    .select()
    .from(boards)
    .where(and(...where))
    .orderBy(asc(boards.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    boards: page,
    nextCursor: rows.length > options.limit && last ? encodeListCursor(last.id) : null,
  };
}
