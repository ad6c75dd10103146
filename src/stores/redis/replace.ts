import type { Redis } from "@upstash/redis/cloudflare";
import { withTimeout } from "../../lib/timeout";
import { expiryArg, recordArgs } from "./args";
import { rankKeys, rebuildKeys } from "./keys";
import { APPLY_SCRIPT, BUILD_SCRIPT, CLEAR_SCRIPT, SWAP_SCRIPT } from "./lua";
import { replyArray, replyInt } from "./reply";
import { runScript } from "./script";

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
  /** When the board-period's keys expire (epoch ms, pastPeriodExpiryMs); null or absent: never. */
  expiresAt?: number | null;
  /**
   * A merge only: the Postgres time (epoch ms) the rows are current as of, raising a ready marker
   * to it.
   */
  watermark?: number;
}

/**
 * Members per script call and round trip: bounds request size and how long one script blocks Redis.
 */
const REPLACE_CHUNK = 1_000;
/** Life of an unfinished rebuild's keys; every chunk re-arms it, the swap removes it. */
const BUILD_TTL_MS = 120_000;

/**
 * A reset of one board-period in progress, fed in chunks so a board of millions never has to be
 * held in memory: rows fill private build keys (same hash tag, unique name, a TTL every chunk
 * re-arms, so an abandoned load cleans itself up), then `commit` RENAMEs both over the live keys
 * and sets the ready marker in one script. Readers see the old set or the new one, never a
 * half-built one. The rows added must be the whole board-period: the marker says so to readers.
 */
export interface BoardPeriodLoad {
  /**
   * Adds rows (any order, any count; validated before anything is sent). Returns how many applied.
   */
  add(rows: readonly RedisRankRow[]): Promise<number>;
  /**
   * Swaps the loaded set in and marks it ready; returns its size. With no rows, empties the
   * board-period. `loadedAt` (epoch ms, Postgres' clock; default now) becomes the keys' watermark:
   * the time of the snapshot the rows were read from.
   */
  commit(loadedAt?: number): Promise<number>;
  /** Drops the build keys (best effort; their TTL removes them anyway). */
  abandon(): Promise<void>;
}

export function startBoardPeriodLoad(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  options: { timeoutMs?: number; expiresAt?: number | null } = {},
): BoardPeriodLoad {
  const keys = rankKeys(prefix, boardId, periodKey);
  const expiresAt = expiryArg(options.expiresAt);
  const build = rebuildKeys(keys, crypto.randomUUID());
  const bounded = boundBy(options.timeoutMs);
  let added = 0;
  /** Whether a build key may exist: abandon() then deletes, otherwise it sends nothing. */
  let written = false;
  return {
    async add(rows) {
      let applied = 0;
      // chunkArgs validates every row before the first chunk is sent.
      for (const args of chunkArgs(rows)) {
        written = true;
        applied += replyInt(
          await bounded(
            runScript(redis, BUILD_SCRIPT, [build.z, build.m], [String(BUILD_TTL_MS), ...args]),
          ),
          "built count",
        );
      }
      added += rows.length;
      return applied;
    },
    async commit(at = Date.now()) {
      const loadedAt = String(at);
      if (added === 0) {
        await bounded(
          runScript(redis, CLEAR_SCRIPT, [keys.z, keys.m, keys.ready], [loadedAt, expiresAt]),
        );
        return 0;
      }
      return replyInt(
        await bounded(
          runScript(
            redis,
            SWAP_SCRIPT,
            [keys.z, keys.m, build.z, build.m, keys.ready],
            [loadedAt, expiresAt],
          ),
        ),
        "total",
      );
    },
    async abandon() {
      if (!written) return; // an empty load, or rows refused before anything was sent
      try {
        await bounded(redis.del(build.z, build.m));
      } catch {
        // Best effort: the build TTL removes the keys anyway.
      }
    },
  };
}

/**
 * Reconciliation from Postgres, all rows at once. With reset the board-period becomes exactly
 * `rows` and is marked ready (a BoardPeriodLoad); without, rows are merged, version-guarded like
 * the projection (never moving a record backwards, never removing players missing from `rows`),
 * and the ready marker is left as it is. A projection applied to the live keys between the
 * caller's Postgres read and the swap is overwritten by the (older) snapshot: follow a reset with
 * a merge of rows updated since the snapshot (harmless, it is version-guarded), as
 * reloadBoardPeriod does. Returns the rows applied and, after a reset, the new size.
 */
export async function replaceBoardPeriod(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  rows: readonly RedisRankRow[],
  options: ReplaceOptions,
): Promise<{ applied: number; total: number | null }> {
  if (!options.reset) {
    // Validate everything before the first write, so a bad row cannot leave a half-merged board.
    const chunks = chunkArgs(rows);
    const keys = rankKeys(prefix, boardId, periodKey);
    const expiresAt = expiryArg(options.expiresAt);
    const bounded = boundBy(options.timeoutMs);
    let applied = 0;
    for (const args of chunks) {
      const watermark = String(options.watermark ?? 0);
      const reply = await bounded(
        runScript(
          redis,
          APPLY_SCRIPT,
          [keys.z, keys.m, keys.ready],
          [expiresAt, watermark, "0", ...args],
        ),
      );
      const [count] = replyArray(reply, "apply");
      applied += replyInt(count, "applied count");
    }
    return { applied, total: null };
  }
  const load = startBoardPeriodLoad(redis, prefix, boardId, periodKey, options);
  try {
    const applied = await load.add(rows);
    return { applied, total: await load.commit() };
  } catch (error) {
    await load.abandon();
    throw error;
  }
}

/**
 * The apply/build scripts' ARGV for rows, REPLACE_CHUNK records per call; throws on a bad row
 * first.
 */
function chunkArgs(rows: readonly RedisRankRow[]): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < rows.length; i += REPLACE_CHUNK) {
    chunks.push(
      rows
        .slice(i, i + REPLACE_CHUNK)
        .flatMap((r) => recordArgs(r.playerId, r.version, r.sortScore, r.reachedAt)),
    );
  }
  return chunks;
}

function boundBy(timeoutMs = 3_000) {
  return <T>(promise: Promise<T>) => withTimeout(promise, timeoutMs, "Redis rank rebuild");
}
