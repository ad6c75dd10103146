import { actorOf, type Caller, isValidPeriodKey, type PeriodKind } from "../../domain";
import type { Metadata } from "../../domain/leaderboard";
import type { ScoreChange } from "../../domain/records";
import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/log";
import type { Stores } from "../../stores";
import { rememberBans } from "../../stores/cache/bans";
import { getBoards } from "../../stores/cache/boards";
import { openDatabase } from "../../stores/postgres/client";
import {
  bannedPlayerIds,
  banPlayer,
  deleteRecords,
  type TakenRecord,
  unbanPlayer,
} from "../../stores/postgres/moderation";
import { countsOf } from "../../stores/postgres/ranks";
import type { AuditRow, Board } from "../../stores/postgres/schema";
import { boardLoader } from "../boards";
import { requestObjectRepairs } from "../projection/object-repairs";
import { projectScoreChanges } from "../projection/score-projection";
import { projectRemovals } from "./removal-projection";

/** What every action needs besides its own arguments. */
export interface ModerationContext {
  stores: Stores;
  caller: Caller;
  cache: CacheContext | undefined;
  waitUntil: (promise: Promise<unknown>) => void;
}

/** A board-period an action changed. */
type Touched = { boardId: string; periodKey: string };

const touchedOf = (records: ReadonlyArray<Touched>): Touched[] => {
  const seen = new Map(records.map((r) => [`${r.boardId}\u0000${r.periodKey}`, r]));
  return [...seen.values()].map(({ boardId, periodKey }) => ({ boardId, periodKey }));
};

async function boardsOf(ctx: ModerationContext, ids: Iterable<string>) {
  return getBoards(new Set(ids), boardLoader(ctx.stores.db));
}

/** The action in a session (its transaction takes the score lock), closed afterwards. */
async function withSession<T>(
  ctx: ModerationContext,
  run: (db: ReturnType<typeof openDatabase>["db"]) => Promise<T>,
): Promise<T> {
  const handle = openDatabase(ctx.stores.env, { maxConnections: 1 });
  try {
    return await run(handle.db);
  } finally {
    ctx.waitUntil(handle.close());
  }
}

/** A period key the board can have (one of its periods' formats), else 400. */
function checkPeriod(board: Board, periodKey: string): void {
  const kinds = board.periods as PeriodKind[];
  if (kinds.some((kind) => isValidPeriodKey(kind, periodKey))) return;
  throw new ApiError(
    "VALIDATION_FAILED",
    `period: "${periodKey}" is not a period key of board "${board.id}" ` +
      `(its periods: ${kinds.join(", ")}; e.g. "all", "2026-11-22", "2026-W47", "2026-11")`,
    { issues: [{ path: "period", message: "not a period key of this board" }] },
  );
}

/**
 * Deletes a player's records from one board (one period, or all), archived boards included, and
 * takes them out of the objects, Redis and the cached pages before answering. A later event of
 * the player may create a record again: removal is not a ban.
 */
export async function removeRecords(
  ctx: ModerationContext,
  target: { boardId: string; periodKey: string | null; playerId: string; reason: string | null },
): Promise<{ removed: number; boardPeriods: Touched[]; audit: AuditRow }> {
  const boards = await boardsOf(ctx, [target.boardId]);
  const board = boards.get(target.boardId);
  if (!board)
    throw new ApiError(
      "NOT_FOUND",
      `Unknown board "${target.boardId}"; GET /v1/admin/boards lists them`,
    );
  if (target.periodKey !== null) checkPeriod(board, target.periodKey);
  const { removed, audit } = await withSession(ctx, (db) =>
    deleteRecords(db, target, { actor: actorOf(ctx.caller), reason: target.reason }),
  );
  await project(ctx, removed, boards);
  return { removed: removed.length, boardPeriods: touchedOf(removed), audit };
}

async function project(
  ctx: ModerationContext,
  taken: readonly TakenRecord[],
  boards: ReadonlyMap<string, Board>,
): Promise<void> {
  const { env, db } = ctx.stores;
  await projectRemovals(env, db(), ctx.cache, taken, boards, ctx.waitUntil);
}

/** This isolate takes the new ban list at once (others within BANS_FRESH_MS). */
async function refreshBans(ctx: ModerationContext): Promise<void> {
  try {
    rememberBans(await bannedPlayerIds(ctx.stores.db()));
  } catch (error) {
    log.warn("moderation: could not reload the ban list here; it refreshes on its own", {
      error: describeError(error),
    });
  }
}

/**
 * Bans a player everywhere: their records leave every board (held, not deleted), their new events
 * are rejected and those already queued move nothing. Banning again keeps the first ban.
 */
export async function ban(ctx: ModerationContext, playerId: string, reason: string) {
  const result = await withSession(ctx, (db) =>
    banPlayer(db, playerId, { actor: actorOf(ctx.caller), reason }),
  );
  await refreshBans(ctx);
  const boards = await boardsOf(
    ctx,
    result.hidden.map((r) => r.boardId),
  );
  await project(ctx, result.hidden, boards);
  return { ...result, boardPeriods: touchedOf(result.hidden) };
}

/**
 * Lifts a ban: the held records come back (a version on) and are projected like a batch's
 * changes, so pages, ranks and totals have them again. 404 when the player is not banned.
 */
export async function unban(ctx: ModerationContext, playerId: string, reason: string | null) {
  const result = await withSession(ctx, (db) =>
    unbanPlayer(db, playerId, { actor: actorOf(ctx.caller), reason }),
  );
  if (!result)
    throw new ApiError(
      "NOT_FOUND",
      `Player "${playerId}" is not banned; GET /v1/admin/audit?player=${playerId} shows what was done`,
    );
  await refreshBans(ctx);
  await projectRestored(ctx, result.restored);
  return { ...result, boardPeriods: touchedOf(result.restored) };
}

async function projectRestored(ctx: ModerationContext, restored: ScoreChange[]): Promise<void> {
  if (restored.length === 0) return;
  const { env, db } = ctx.stores;
  const boards = await boardsOf(
    ctx,
    restored.map((r) => r.boardId),
  );
  const totals = await countsOf(db(), touchedOf(restored));
  // The Redis write and the purge run in the background of a batch; here they are awaited, so
  // the answer comes once every store has the records back.
  const background: Array<Promise<unknown>> = [];
  const outcome = await projectScoreChanges(
    env,
    restored.map((r) => ({ ...r, metadata: r.metadata as Metadata | null })),
    new Map(boards),
    { waitUntil: (p) => background.push(p), totals, cache: ctx.cache },
  );
  await Promise.all(background);
  const missed = [...outcome.failed, ...outcome.unprojectable];
  if (missed.length === 0) return;
  log.warn("moderation: objects missed restored records; they are queued for a rebuild", {
    objects: missed.slice(0, 20),
  });
  await requestObjectRepairs(db(), missed);
}
