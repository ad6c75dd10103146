import { and, eq, sql } from "drizzle-orm";
import { boardPrizesProblem, type PeriodKind, periodKeysFor } from "../domain";
import type { AppBindings } from "../env";
import { ApiError } from "../lib/errors";
import { describeError, log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { rememberBoard } from "../stores/cache/boards";
import { storeAtEdge } from "../stores/cache/boards-edge";
import { purgeBoardPages } from "../stores/cache/pages";
import { leaderboardStub, objectConfig } from "../stores/objects/leaderboard";
import type { Database } from "../stores/postgres/client";
import { type Board, boards, scores } from "../stores/postgres/schema";
import type { BoardInput } from "./boards";

/** Optional settings a PATCH may clear with null. */
type Clearable = "minScore" | "maxScore" | "maxIncrement" | "maxScoreEventsPerMinute" | "metadata";

/** A PATCH body: the fields to change (absent: unchanged; null clears an optional one). */
export type BoardChanges = {
  [K in Exclude<keyof BoardInput, "id">]?: K extends Clearable
    ? Exclude<BoardInput[K], undefined> | null
    : BoardInput[K];
};

/**
 * Settings that decide how every stored record was combined (sort order, operator) and which
 * period it was filed under (periods, time zone, week start): changing one under existing records
 * would silently reinterpret them, so they change only while the board has none.
 */
const STRUCTURAL = ["sortOrder", "operator", "periods", "timeZone", "weekStart"] as const;

const invalid = (path: string, message: string) =>
  new ApiError("VALIDATION_FAILED", `${path}: ${message}`, { issues: [{ path, message }] });

/** The create route's cross-field rules, on the board as it would be after the change. */
function checkMerged(next: Board): void {
  if (next.minScore !== null && next.maxScore !== null && next.minScore > next.maxScore)
    throw invalid("minScore", "minScore must not exceed maxScore");
  if (next.maxIncrement !== null && next.operator !== "increment")
    throw invalid("maxIncrement", 'maxIncrement applies only to boards with operator "increment"');
  const prizes = boardPrizesProblem(next.periods, next.prizes);
  if (prizes) throw invalid("prizes", prizes);
}

/** The columns a change sets, deduplicating periods as the create route does. */
function columnsOf(changes: BoardChanges): Partial<Board> {
  const set: Partial<Board> = {};
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    (set as Record<string, unknown>)[key] =
      key === "periods" ? [...new Set(value as string[])] : value;
  }
  return set;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function hasRecords(db: Database, id: string): Promise<boolean> {
  const rows = await db
    .select({ one: sql<number>`1` })
    .from(scores)
    .where(eq(scores.boardId, id))
    .limit(1);
  return rows.length > 0;
}

/** The row and its version (xmin, which every update changes), or 404. */
async function currentRow(db: Database, id: string): Promise<{ board: Board; version: string }> {
  const [row] = await db
    .select({ board: boards, version: sql<string>`xmin::text` })
    .from(boards)
    .where(eq(boards.id, id));
  if (!row)
    throw new ApiError("NOT_FOUND", `Unknown board "${id}"; GET /v1/admin/boards lists them`);
  return row;
}

/**
 * Changes a board's settings: 404 unknown, 410 archived, 400 when the result breaks a rule, 409
 * when a structural setting would change under existing records (or another edit landed between
 * our read and write: the update is conditional on the row's version, so none is lost).
 */
export async function updateBoard(db: Database, id: string, changes: BoardChanges) {
  const { board: current, version } = await currentRow(db, id);
  if (current.archivedAt)
    throw new ApiError("GONE", `Board "${id}" is archived; an archived board cannot change`);
  const set = columnsOf(changes);
  checkMerged({ ...current, ...set });
  // New prizes count from now: a period that ended before them is not awarded.
  if (set.prizes !== undefined && !same(set.prizes, current.prizes)) set.prizesSince = new Date();
  const structural = STRUCTURAL.filter((f) => f in set && !same(set[f], current[f]));
  if (structural.length > 0 && (await hasRecords(db, id)))
    throw new ApiError(
      "CONFLICT",
      `Board "${id}" has records, so ${structural.join(", ")} can no longer change ` +
        "(they decide how its records were combined and filed); create a new board instead",
    );
  const guards = [eq(boards.id, id), sql`xmin::text = ${version}`];
  // Re-checked in the statement itself: a first record may have landed since.
  if (structural.length > 0)
    guards.push(sql`not exists (select 1 from ${scores} where ${scores.boardId} = ${id})`);
  const [row] = await db
    .update(boards)
    .set({ ...set, updatedAt: sql`now()` })
    .where(and(...guards))
    .returning();
  if (!row)
    throw new ApiError(
      "CONFLICT",
      `Board "${id}" changed while this edit was applied (another edit, or a first record); ` +
        "read it again and retry",
    );
  return { board: row, topSizeChanged: row.topSize !== current.topSize };
}

/**
 * Archives a board (idempotent: a second call keeps the first time). Its rows stay; reads answer
 * 410 and events naming it are refused per item, once each server's copy of the board has it.
 */
export async function archiveBoard(db: Database, id: string): Promise<Board> {
  const [row] = await db
    .update(boards)
    .set({
      archivedAt: sql`coalesce(${boards.archivedAt}, now())`,
      updatedAt: sql`case when ${boards.archivedAt} is null then now() else ${boards.updatedAt} end`,
    })
    .where(eq(boards.id, id))
    .returning();
  if (!row)
    throw new ApiError("NOT_FOUND", `Unknown board "${id}"; GET /v1/admin/boards lists them`);
  return row;
}

/**
 * Hands a definition just written to this isolate's cache and this PoP's Cache API, so every
 * request served here sees it at once, and purges the board's cached pages (a page must not
 * outlive an archive or a switch to private); other PoPs and isolates see the definition when
 * their copies age out (BOARD_EDIT_REACH_MS; docs/design.md, "Board definitions").
 */
export async function publishBoard(
  env: AppBindings,
  cache: CacheContext | undefined,
  board: Board,
): Promise<void> {
  rememberBoard(board);
  await storeAtEdge(board);
  await purgeBoardPages(env, cache, board.id).catch((error: unknown) => {
    log.warn("boards: page purge after an edit failed; pages refresh at their TTL", {
      board: board.id,
      error: describeError(error),
    });
  });
}

/** A rebuild on the admin path: bounded, since the next write carries the settings anyway. */
const REFRESH_TIMEOUT_MS = 10_000;

/**
 * Tells the objects of the board's current periods its settings now (a new topSize): they adopt
 * the config each call carries, and a rebuild reloads the top-N from Postgres at the new size, so
 * a page does not wait for the next score. Past periods' objects adopt it on their next rebuild.
 * A failure is logged, not raised: the edit is committed and the next write carries it.
 */
export async function refreshObjects(env: AppBindings, board: Board, now = new Date()) {
  const keys = periodKeysFor(
    {
      periods: board.periods as PeriodKind[],
      timeZone: board.timeZone,
      weekStart: board.weekStart,
    },
    now,
  );
  await Promise.all(
    keys.map(async ({ key }) => {
      try {
        const stub = leaderboardStub(env, board.id, key);
        await withTimeout(
          stub.rebuild(objectConfig(env, board, key)),
          REFRESH_TIMEOUT_MS,
          "a board object's rebuild",
        );
      } catch (error) {
        log.warn("boards: could not refresh an object after an edit; its next write will", {
          board: board.id,
          periodKey: key,
          error: describeError(error),
        });
      }
    }),
  );
}
