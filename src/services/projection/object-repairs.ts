import { and, eq, inArray, lte, sql } from "drizzle-orm";
import { boardPeriodKey } from "../../domain";
import type { AppBindings } from "../../env";
import { describeError, log } from "../../lib/log";
import { leaderboardStub, objectConfig } from "../../stores/objects/leaderboard";
import type { Database } from "../../stores/postgres/client";
import { boards, objectRepairs } from "../../stores/postgres/schema";

/**
 * Queues board-periods whose object missed a projection for a rebuild (one row each, the latest
 * error).
 */
export async function requestObjectRepairs(
  db: Database,
  repairs: ReadonlyArray<{ boardId: string; periodKey: string; error: string }>,
): Promise<void> {
  const unique = new Map(repairs.map((r) => [boardPeriodKey(r.boardId, r.periodKey), r]));
  await db
    .insert(objectRepairs)
    .values(
      [...unique.values()].map((r) => ({
        boardId: r.boardId,
        periodKey: r.periodKey,
        error: r.error.slice(0, 1000),
      })),
    )
    .onConflictDoUpdate({
      target: [objectRepairs.boardId, objectRepairs.periodKey],
      set: { requestedAt: sql`now()`, error: sql`excluded.error` },
    });
}

/** Repairs per run: each is one top-N query and one object call. */
const MAX_REPAIRS = 20;

export interface RepairResult {
  repaired: number;
  failed: number;
  dropped: number;
}

/**
 * Rebuilds the objects queued in object_repairs from Postgres, oldest request first, bounded per
 * run. A request is cleared only if it is older than the rebuild, so a failure during it asks
 * again; a board deleted since is dropped; a rebuild that fails stays queued for the next run.
 */
export async function repairObjects(db: Database, env: AppBindings): Promise<RepairResult> {
  const rows = await db
    .select()
    .from(objectRepairs)
    .orderBy(objectRepairs.requestedAt)
    .limit(MAX_REPAIRS);
  const result: RepairResult = { repaired: 0, failed: 0, dropped: 0 };
  if (rows.length === 0) return result;
  const found = await db
    .select()
    .from(boards)
    .where(inArray(boards.id, [...new Set(rows.map((r) => r.boardId))]));
  const byId = new Map(found.map((b) => [b.id, b]));
  for (const row of rows) {
    const started = new Date();
    const clear = () =>
      db
        .delete(objectRepairs)
        .where(
          and(
            eq(objectRepairs.boardId, row.boardId),
            eq(objectRepairs.periodKey, row.periodKey),
            lte(objectRepairs.requestedAt, started),
          ),
        );
    const board = byId.get(row.boardId);
    if (!board) {
      await clear();
      result.dropped += 1;
      continue;
    }
    try {
      await leaderboardStub(env, board.id, row.periodKey).rebuild(
        objectConfig(env, board, row.periodKey),
      );
      await clear();
      result.repaired += 1;
    } catch (error) {
      result.failed += 1;
      log.warn("cron: object rebuild failed; it is retried next run", {
        boardId: row.boardId,
        periodKey: row.periodKey,
        error: describeError(error),
      });
    }
  }
  return result;
}
