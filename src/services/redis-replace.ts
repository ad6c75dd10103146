import type { Redis } from "@upstash/redis/cloudflare";
import { withTimeout } from "../lib/timeout";
import { recordArgs } from "./redis-args";
import { rankKeys, rebuildKeys } from "./redis-keys";
import { APPLY_SCRIPT, BUILD_SCRIPT, SWAP_SCRIPT } from "./redis-lua";
import { replyInt } from "./redis-reply";
import { runScript } from "./redis-script";

/** One scores row, as reconciliation reads it from Postgres. */
export interface RedisRankRow {
  playerId: string;
  sortScore: number;
  reachedAt: number;
  version: number;
}

/** How replaceBoardPeriod writes. */
export interface ReplaceOptions {
  /**
   * false: merge, version-guarded like the projection (never moves a record backwards, never
   * removes players missing from `rows`). true: the board-period becomes exactly `rows`.
   */
  reset: boolean;
  /** Bound per chunk round trip (default 3000 ms). */
  timeoutMs?: number;
}

/** Members per script call and round trip: bounds request size and how long one script blocks Redis. */
export const REPLACE_CHUNK = 1_000;
/** Life of an unfinished rebuild's keys; every chunk re-arms it, the swap removes it. */
const BUILD_TTL_MS = 120_000;

/**
 * Reconciliation from Postgres. Rows go in chunks of at most 1000 members, one round trip each.
 * With reset, the chunks fill private build keys (same hash tag, unique name, TTL) and one script
 * then RENAMEs both over the live keys, so readers see the old set or the new one, never a half-
 * built one; empty rows delete the board-period. A projection applied to the live keys between
 * the caller's Postgres read and the swap is overwritten by the (older) snapshot: follow a reset
 * with a merge of rows updated since the snapshot (harmless, it is version-guarded) or let the
 * next reconciliation repair it. Returns the rows applied and, after a reset, the new size.
 */
export async function replaceBoardPeriod(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  rows: readonly RedisRankRow[],
  options: ReplaceOptions,
): Promise<{ applied: number; total: number | null }> {
  const keys = rankKeys(prefix, boardId, periodKey);
  const timeoutMs = options.timeoutMs ?? 3_000;
  const bounded = <T>(promise: Promise<T>) => withTimeout(promise, timeoutMs, "Redis rank rebuild");
  // Validate everything before the first write, so a bad row cannot leave a half-merged board.
  const chunks: string[][] = [];
  for (let i = 0; i < rows.length; i += REPLACE_CHUNK) {
    chunks.push(rows.slice(i, i + REPLACE_CHUNK).flatMap((r) => recordArgs(r.playerId, r.version, r.sortScore, r.reachedAt)));
  }

  if (!options.reset) {
    let applied = 0;
    for (const args of chunks) {
      applied += replyInt(await bounded(runScript(redis, APPLY_SCRIPT, [keys.z, keys.m], args)), "applied count");
    }
    return { applied, total: null };
  }

  if (chunks.length === 0) {
    await bounded(redis.del(keys.z, keys.m));
    return { applied: 0, total: 0 };
  }
  const build = rebuildKeys(keys, crypto.randomUUID());
  try {
    let applied = 0;
    for (const args of chunks) {
      applied += replyInt(
        await bounded(runScript(redis, BUILD_SCRIPT, [build.z, build.m], [String(BUILD_TTL_MS), ...args])),
        "built count",
      );
    }
    const total = replyInt(await bounded(runScript(redis, SWAP_SCRIPT, [keys.z, keys.m, build.z, build.m], [])), "total");
    return { applied, total };
  } catch (error) {
    // Best effort: the TTL removes the build keys anyway if this fails too.
    await bounded(redis.del(build.z, build.m)).catch(() => {});
    throw error;
  }
}
