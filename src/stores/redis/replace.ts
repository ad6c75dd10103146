import type { Redis } from "@upstash/redis/cloudflare";
import { withTimeout } from "../../lib/timeout";
import { chunkRecords, type DisplayFields, expiryArg, recordArgs } from "./args";
import { rankKeys, rebuildKeys } from "./keys";
import {
  APPLY_SCRIPT,
  BUILD_GONE_REPLY,
  BUILD_SCRIPT,
  CLEAR_SCRIPT,
  PREPARE_SCRIPT,
  SWAP_SCRIPT,
} from "./lua";
import { replyArray, replyInt } from "./reply";
import { pipelineScriptCapped, runScript, type ScriptCall } from "./script";

/** One scores row, as reconciliation reads it from Postgres. */
export interface RedisRankRow extends DisplayFields {
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
 * Members and argument bytes per script call: bounds request size and how long one script blocks
 * Redis (records with names and metadata reach ~1 KB each).
 */
const REPLACE_CHUNK = 1_000;
const REPLACE_CHUNK_BYTES = 128 * 1024;
/**
 * Life of an unfinished rebuild's keys; every chunk re-arms it, the swap removes it. Long enough
 * for a reload spread over several cron runs to survive a run or two that did not get to it.
 */
const BUILD_TTL_MS = 15 * 60_000;

/** True for the error of a build whose keys are gone (expired while stalled, or swapped in). */
export function isBuildGone(error: unknown): boolean {
  return error instanceof Error && error.message.includes(BUILD_GONE_REPLY);
}

/**
 * A reset of one board-period in progress, fed in chunks so a board of millions never has to be
 * held in memory: rows fill private build keys (same hash tag, a name of their own, a TTL every
 * chunk re-arms, so an abandoned load cleans itself up), then `commit` RENAMEs both over the live
 * keys and sets the ready marker in one script. Readers see the old set or the new one, never a
 * half-built one. The rows added must be the whole board-period: the marker says so to readers.
 * A load can be continued by another run (same `token`, `resumed`): its chunks then refuse to
 * write once the build keys are gone (isBuildGone), so a stalled build is never published partly.
 */
export interface BoardPeriodLoad {
  /**
   * Adds rows (any order, any count; validated before anything is sent), pipelined. Returns how
   * many applied.
   */
  add(rows: readonly RedisRankRow[]): Promise<number>;
  /**
   * Swaps the loaded set in and marks it ready; returns its size. With no rows (`loaded`, default
   * the rows this object added, is 0), empties the board-period. `loadedAt` (epoch ms, Postgres'
   * clock; default now) becomes the keys' watermark: the time of the snapshot the rows are from.
   */
  commit(loadedAt?: number, loaded?: number): Promise<number>;
  /** Drops the build keys (best effort; their TTL removes them anyway). */
  abandon(): Promise<void>;
}

export function startBoardPeriodLoad(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  options: {
    timeoutMs?: number;
    expiresAt?: number | null;
    /** Names the build keys (default: a new one); pass a stored one to continue a load. */
    token?: string;
    /** The build keys exist already (an earlier run added rows under `token`). */
    resumed?: boolean;
  } = {},
): BoardPeriodLoad {
  const keys = rankKeys(prefix, boardId, periodKey);
  const expiresAt = expiryArg(options.expiresAt);
  const build = rebuildKeys(keys, options.token ?? crypto.randomUUID());
  const bounded = boundBy(options.timeoutMs);
  let added = 0;
  /** Whether a build key may exist: chunks then require it, and abandon() deletes it. */
  let written = options.resumed === true;
  const call = (args: string[], resumed: boolean): ScriptCall => ({
    keys: [build.z, build.m, build.d],
    args: [String(BUILD_TTL_MS), resumed ? "1" : "0", ...args],
  });
  return {
    async add(rows) {
      // chunkArgs validates every row before the first chunk is sent.
      const chunks = chunkArgs(rows);
      let applied = 0;
      const first = chunks[0];
      if (!written && first) {
        // A new build starts with one call of its own: every later call requires its keys.
        const start = call(first, false);
        written = true;
        applied += replyInt(
          await bounded(runScript(redis, BUILD_SCRIPT, start.keys, start.args)),
          "built count",
        );
        chunks.shift();
      }
      const calls = chunks.map((args) => call(args, true));
      for (const reply of await bounded(pipelineScriptCapped(redis, BUILD_SCRIPT, calls)))
        applied += replyInt(reply, "built count");
      added += rows.length;
      return applied;
    },
    async commit(at = Date.now(), loaded = added) {
      const loadedAt = String(at);
      if (loaded === 0) {
        await bounded(
          runScript(
            redis,
            CLEAR_SCRIPT,
            [keys.z, keys.m, keys.ready, keys.d],
            [loadedAt, expiresAt],
          ),
        );
        return 0;
      }
      return replyInt(
        await bounded(
          runScript(
            redis,
            SWAP_SCRIPT,
            [keys.z, keys.m, build.z, build.m, keys.ready, keys.d, build.d],
            [loadedAt, expiresAt],
          ),
        ),
        "total",
      );
    },
    async abandon() {
      if (!written) return; // an empty load, or rows refused before anything was sent
      try {
        await bounded(redis.del(build.z, build.m, build.d));
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
          [keys.z, keys.m, keys.ready, keys.d],
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
    // One request per chunk (a caller's set is small; reloads pipeline theirs).
    let applied = 0;
    for (let i = 0; i < rows.length; i += REPLACE_CHUNK)
      applied += await load.add(rows.slice(i, i + REPLACE_CHUNK));
    return { applied, total: await load.commit() };
  } catch (error) {
    await load.abandon();
    throw error;
  }
}

/** A board-period's ready marker (its watermark, epoch ms), or null without one. */
export async function readyMarker(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
): Promise<number | null> {
  const marker = await boundBy()(
    redis.get<string | number>(rankKeys(prefix, boardId, periodKey).ready),
  );
  return marker === null || marker === undefined ? null : Number(marker);
}

/**
 * Marks a board-period Postgres holds no record of (a period about to start) ready and empty, so
 * reads use Redis from its first event on; only if its keys do not exist at all (no marker, no
 * member: a projection that landed first leaves it to a load). `loadedAt`: the Postgres time at
 * which it was seen empty. Returns whether it was marked.
 */
export async function prepareEmpty(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  loadedAt: number,
  expiresAt: number | null,
): Promise<boolean> {
  const keys = rankKeys(prefix, boardId, periodKey);
  const reply = await boundBy()(
    runScript(
      redis,
      PREPARE_SCRIPT,
      [keys.z, keys.m, keys.ready],
      [String(loadedAt), expiryArg(expiresAt)],
    ),
  );
  return replyInt(reply, "prepared") === 1;
}

/**
 * The apply/build scripts' ARGV for rows, at most REPLACE_CHUNK records and about
 * REPLACE_CHUNK_BYTES per call; throws on a bad row first.
 */
function chunkArgs(rows: readonly RedisRankRow[]): string[][] {
  return chunkRecords(
    rows.map((r) => recordArgs(r.playerId, r.version, r.sortScore, r.reachedAt, r)),
    REPLACE_CHUNK,
    REPLACE_CHUNK_BYTES,
  );
}

function boundBy(timeoutMs = 3_000) {
  return <T>(promise: Promise<T>) => withTimeout(promise, timeoutMs, "Redis rank rebuild");
}
