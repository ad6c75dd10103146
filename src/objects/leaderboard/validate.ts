/**
 * Checks on RPC arguments before they touch the held set. RPC callers are our own code, but a
 * NaN score or a fractional version would silently corrupt the sorted order or the version
 * guard, and that corruption would then be persisted; failing the call loudly is cheaper.
 */
import { projectionProblem, SORT_ORDERS } from "../../domain";
import {
  type BoardPeriod,
  type CountedTotal,
  type EntryState,
  MAX_PAGE_LIMIT,
  MAX_TOP_SIZE,
  type PageOptions,
} from "../../domain/leaderboard";

function fail(message: string): never {
  throw new RangeError(`LeaderboardDO: ${message}`);
}

function isSafeInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws unless `board` is a usable board-period config. */
export function checkBoard(board: BoardPeriod): void {
  if (!isPlainObject(board)) fail("board must be an object");
  if (typeof board.boardId !== "string" || board.boardId.length === 0)
    fail("board.boardId must be a non-empty string");
  if (typeof board.periodKey !== "string" || board.periodKey.length === 0)
    fail("board.periodKey must be a non-empty string");
  if (!SORT_ORDERS.includes(board.sortOrder)) fail("board.sortOrder must be 'desc' or 'asc'");
  if (!isSafeInt(board.topSize) || board.topSize < 1 || board.topSize > MAX_TOP_SIZE) {
    fail(`board.topSize must be an integer in 1..${MAX_TOP_SIZE}`);
  }
  if (
    board.archiveAt !== undefined &&
    board.archiveAt !== null &&
    (!isSafeInt(board.archiveAt) || board.archiveAt < 0)
  ) {
    fail("board.archiveAt must be epoch milliseconds, null or absent");
  }
}

/** Throws unless every change is a well-formed final record state. */
export function checkChanges(changes: readonly EntryState[]): void {
  if (!Array.isArray(changes)) fail("changes must be an array");
  for (const [i, c] of changes.entries()) {
    if (!isPlainObject(c)) fail(`changes[${i}] must be an object`);
    const problem = projectionProblem(c);
    if (problem) fail(`changes[${i}]: ${problem}`);
    if (
      c.displayName !== undefined &&
      c.displayName !== null &&
      typeof c.displayName !== "string"
    ) {
      fail(`changes[${i}].displayName must be a string or null`);
    }
    if (c.metadata !== undefined && c.metadata !== null && !isPlainObject(c.metadata))
      fail(`changes[${i}].metadata must be an object or null`);
  }
}

/** Throws unless every removal names a player and the last version removed. */
export function checkRemovals(removals: ReadonlyArray<{ playerId: string; version: number }>) {
  if (!Array.isArray(removals)) fail("removals must be an array");
  for (const [i, r] of removals.entries()) {
    if (!isPlainObject(r)) fail(`removals[${i}] must be an object`);
    const problem = projectionProblem({ ...r, score: 0, reachedAt: 0 });
    if (problem) fail(`removals[${i}]: ${problem}`);
  }
}

/** Throws unless `value` is a non-negative safe integer (player counts). */
export function checkCount(name: string, value: number): void {
  if (!isSafeInt(value) || value < 0) fail(`${name} must be a non-negative integer`);
}

/** Throws unless `total` is absent or a count with its statement time. */
export function checkCountedTotal(total: CountedTotal | undefined): void {
  if (total === undefined) return;
  if (!isPlainObject(total)) fail("total must be {count, at} or absent");
  checkCount("total.count", total.count);
  checkCount("total.at", total.at);
}

/** Throws unless the page options are in range. */
export function checkPageOptions(options: PageOptions): void {
  if (!isPlainObject(options)) fail("page options must be an object");
  if (!isSafeInt(options.limit) || options.limit < 1 || options.limit > MAX_PAGE_LIMIT)
    fail(`limit must be an integer in 1..${MAX_PAGE_LIMIT}`);
  if (options.offset !== undefined) checkCount("offset", options.offset);
  const cursor = options.cursor;
  if (cursor !== undefined) {
    if (!isPlainObject(cursor)) fail("cursor must be an object");
    if (
      !isSafeInt(cursor.score) ||
      !isSafeInt(cursor.reachedAt) ||
      typeof cursor.playerId !== "string"
    ) {
      fail("cursor needs integer score and reachedAt and a string playerId");
    }
  }
}

/** Throws unless `score` can be ranked. */
export function checkScore(score: number): void {
  if (!isSafeInt(score)) fail("score must be a safe integer");
}
