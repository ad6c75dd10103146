import type { Redis } from "@upstash/redis/cloudflare";
import { boardPeriodKey, type SortOrder } from "../../domain";
import type { ScoreChange } from "../../domain/records";
import { withTimeout } from "../../lib/timeout";
import { chunkRecords, type DisplayFields, expiryArg, recordArgs, scoreArg } from "./args";
import { rankKeys } from "./keys";
import {
  AFTER_SCRIPT,
  APPLY_SCRIPT,
  AROUND_SCRIPT,
  FOR_SCORE_SCRIPT,
  NOT_READY_REPLY,
  PAGE_SCRIPT,
  RANK_SCRIPT,
} from "./lua";
import { encodeMember } from "./member";
import {
  type RedisRankEntry,
  replyArray,
  replyDisplay,
  replyEntries,
  replyInt,
  replyMember,
} from "./reply";
import { pipelineScriptCapped, runScript, type ScriptCall } from "./script";

/*
 * The Redis rank store: per board-period a ZSET (score = sortScore, member = reachedAt:playerId,
 * so Redis' own order is the ranking order), a HASH (playerId → version|member), a HASH of display
 * fields (so no read needs Postgres for names) and a ready marker, set when the two were loaded whole from Postgres. Projections write whether or not the
 * marker is there; reads refuse without it (RedisNotReadyError), since the keys may then hold
 * only part of the board-period. Every function bounds its time and throws on any failure or
 * malformed reply; callers fall back to Postgres.
 */

export {
  isBuildGone,
  prepareEmpty,
  type RedisRankRow,
  readyMarker,
  replaceBoardPeriod,
  startBoardPeriodLoad,
} from "./replace";
export type { RedisRankEntry } from "./reply";

/**
 * Thrown by every read of a board-period Redis does not hold whole yet (no ready marker): new
 * periods until the reconciliation cron loads them, and every board-period after Redis was
 * configured, flushed or evicted. The caller answers from Postgres, as when Redis is down.
 */
export class RedisNotReadyError extends Error {
  constructor() {
    super(
      "redis rank store: this board-period is not loaded in Redis yet " +
        "(the reconciliation cron loads it)",
    );
    this.name = "RedisNotReadyError";
  }
}

/** Default bound for the request-path reads. */
const REDIS_READ_TIMEOUT_MS = 1_500;
/** Default bound for one projection pipeline (consumer) or one rebuild chunk (cron). */
const REDIS_WRITE_TIMEOUT_MS = 3_000;
/** Largest page / window a single read returns, so one script's run time stays bounded. */
const REDIS_MAX_PAGE = 1_000;
/** Most records one apply script call takes (about 35 KB of arguments without display fields). */
export const APPLY_MAX_RECORDS = 500;
/** Most argument bytes one apply call takes: records with names and metadata reach ~1 KB each. */
const APPLY_MAX_BYTES = 128 * 1024;

/** Per-call override of the time bound, and (reads) the oldest watermark accepted. */
export interface RedisCallOptions {
  timeoutMs?: number;
  /**
   * Reads: keys whose ready marker is older than this (epoch ms, Postgres' clock) answer "not
   * ready" (RedisNotReadyError); see stores/redis/watermarks.ts. Default 0: any ready keys.
   */
  minWatermark?: number;
}

/** The reads' last ARGV: the oldest watermark accepted. */
const floorArg = (options: RedisCallOptions) =>
  String(Math.max(0, Math.floor(options.minWatermark ?? 0)));

/** The state of one (board, period, player) record, as the projection mirrors it. */
export interface RedisRankChange extends DisplayFields {
  boardId: string;
  periodKey: string;
  playerId: string;
  /** -score on desc boards, score on asc boards (smaller is better), as scores.sort_score. */
  sortScore: number;
  /** Epoch ms. */
  reachedAt: number;
  /** scores.version: only a newer version replaces what Redis holds. */
  version: number;
  /**
   * When the board-period's keys expire (epoch ms, pastPeriodExpiryMs); null or absent: never
   * (all-time).
   */
  expiresAt?: number | null;
}

/** A player's position. */
export interface RedisPlayerRank extends Pick<RedisRankEntry, "displayName" | "metadata"> {
  /** 1-based. */
  rank: number;
  sortScore: number;
  reachedAt: number;
  total: number;
}

/** A slice of a board-period, with its size at the time of the read. */
export interface RedisRankPage {
  entries: RedisRankEntry[];
  total: number;
}

/** A keyset position: the last entry of the previous page (it need not still be on the board). */
export interface RedisRankCursor {
  sortScore: number;
  reachedAt: number;
  playerId: string;
}

/** The player's neighbourhood: up to n entries above and n below, plus the player. */
export interface RedisAround extends RedisRankPage {
  rank: number;
}

/**
 * A persisted ScoreChange in the store's terms. The store only knows "smaller is better", so the
 * board's sort order decides the sign, exactly as scores.sort_score is computed.
 */
export function redisChangeOf(
  change: ScoreChange,
  sortOrder: SortOrder,
  expiresAt: number | null,
): RedisRankChange {
  return {
    boardId: change.boardId,
    periodKey: change.periodKey,
    playerId: change.playerId,
    // 0 - x, not -x: no -0 for a zero score.
    sortScore: sortOrder === "desc" ? 0 - change.score : change.score,
    reachedAt: change.reachedAt,
    version: change.version,
    displayName: change.displayName,
    metadata: change.metadata,
    expiresAt,
  };
}

/**
 * What a projection into Redis did: changes applied, and board-periods found behind (marker
 * dropped).
 */
export interface RedisApplyResult {
  applied: number;
  behind: Array<{ boardId: string; periodKey: string }>;
}

/**
 * Mirrors a batch of record states into Redis in ONE pipeline: one EVALSHA per board-period
 * carrying all of its changes (EVAL only for scripts Redis has forgotten). The script applies a
 * change only when its version is newer than the stored one, so repeats, redeliveries and
 * out-of-order batches change nothing, on every operator, and sets the board-period's expiry (its
 * changes all carry the same). With `watermarks`, each board-period's ready marker moves up to
 * the batch's time, or is dropped when it trails what the board-period's object had already
 * applied (see APPLY_SCRIPT): those board-periods come back in `behind`.
 */
export async function applyToRedis(
  redis: Redis,
  prefix: string,
  changes: readonly RedisRankChange[],
  options: RedisCallOptions & {
    watermarks?: ReadonlyMap<string, { writtenAt: number; expectedAt: number }>;
  } = {},
): Promise<RedisApplyResult> {
  const groups = new Map<string, ApplyGroup>();
  for (const change of changes) {
    const args = recordArgs(
      change.playerId,
      change.version,
      change.sortScore,
      change.reachedAt,
      change,
    );
    const keys = rankKeys(prefix, change.boardId, change.periodKey);
    const expiry = expiryArg(change.expiresAt);
    let group = groups.get(keys.z);
    if (!group) {
      const mark = options.watermarks?.get(boardPeriodKey(change.boardId, change.periodKey));
      const at = (n: number | undefined) =>
        String(Number.isSafeInteger(n) && (n as number) > 0 ? n : 0);
      group = {
        keys: [keys.z, keys.m, keys.ready, keys.d],
        expiry,
        marks: [at(mark?.writtenAt), at(mark?.expectedAt)],
        records: [],
        boardId: change.boardId,
        periodKey: change.periodKey,
      };
      groups.set(keys.z, group);
    } else if (group.expiry !== expiry) {
      throw new RangeError(
        `redis rank store: changes to ${change.boardId}/${change.periodKey} disagree on expiresAt`,
      );
    }
    group.records.push(args);
  }
  if (groups.size === 0) return { applied: 0, behind: [] };
  // A board-period's records go in calls of at most APPLY_MAX_RECORDS (one script's run, and so
  // its key lock, stays short) and APPLY_MAX_BYTES; only its last call moves or checks the ready
  // marker, after every record of the batch is in.
  const calls: Array<ScriptCall & { group: ApplyGroup }> = [];
  for (const group of groups.values()) {
    const chunks = chunkRecords(group.records, APPLY_MAX_RECORDS, APPLY_MAX_BYTES);
    chunks.forEach((chunk, i) => {
      const last = i === chunks.length - 1;
      calls.push({
        keys: group.keys,
        args: [group.expiry, ...(last ? group.marks : ["0", "0"]), ...chunk],
        group,
      });
    });
  }
  const replies = await withTimeout(
    pipelineScriptCapped(redis, APPLY_SCRIPT, calls),
    options.timeoutMs ?? REDIS_WRITE_TIMEOUT_MS,
    "Redis rank projection",
  );
  const result: RedisApplyResult = { applied: 0, behind: [] };
  const behindGroups = new Set<ApplyGroup>();
  replies.forEach((reply, i) => {
    const [applied, behind] = replyArray(reply, "apply");
    result.applied += replyInt(applied, "applied count");
    const group = calls[i]?.group;
    if (replyInt(behind, "behind flag") === 1 && group && !behindGroups.has(group)) {
      behindGroups.add(group);
      result.behind.push({ boardId: group.boardId, periodKey: group.periodKey });
    }
  });
  return result;
}

/** One board-period's records of a projection, and the arguments every call of it carries. */
interface ApplyGroup {
  keys: string[];
  expiry: string;
  /** writtenAt, expectedAt: sent with the board-period's last call only. */
  marks: [string, string];
  records: string[][];
  boardId: string;
  periodKey: string;
}

/** A player's 1-based rank in O(log N) (HGET → ZRANK → ZCARD in one script); null if absent. */
export async function rankFromRedis(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  playerId: string,
  options: RedisCallOptions = {},
): Promise<RedisPlayerRank | null> {
  const [rank] = await ranksFromRedis(redis, prefix, boardId, periodKey, [playerId], options);
  return rank ?? null;
}

/** Most players one rank script call takes (its run time, and so its key lock, stays short). */
const RANKS_MAX_PLAYERS = 1_000;

/** Ranks of several players in ONE script call; null where absent. */
export async function ranksFromRedis(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  playerIds: readonly string[],
  options: RedisCallOptions = {},
): Promise<Array<RedisPlayerRank | null>> {
  if (playerIds.length === 0) return [];
  if (playerIds.length > RANKS_MAX_PLAYERS) {
    throw new RangeError(`ranksFromRedis: at most ${RANKS_MAX_PLAYERS} players per call`);
  }
  const keys = rankKeys(prefix, boardId, periodKey);
  const reply = replyArray(
    await read(
      runScript(
        redis,
        RANK_SCRIPT,
        [keys.z, keys.m, keys.ready, keys.d],
        [...playerIds, floorArg(options)],
      ),
      options,
    ),
    "ranks",
  );
  const total = replyInt(reply[0], "total");
  return playerIds.map((_, i) => {
    const found = reply[i + 1];
    if (found === null || found === undefined) return null;
    const [rank0, score, member, display] = replyArray(found, "rank");
    return {
      rank: replyInt(rank0, "rank") + 1,
      sortScore: replyInt(score, "score"),
      reachedAt: replyMember(member).reachedAt,
      total,
      ...replyDisplay(display),
    };
  });
}

/** Entries [offset, offset + limit) in ranking order, and the board-period's size. */
export async function pageFromRedis(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  page: { offset: number; limit: number },
  options: RedisCallOptions = {},
): Promise<RedisRankPage> {
  if (!Number.isSafeInteger(page.offset) || page.offset < 0)
    throw new RangeError("pageFromRedis: offset must be an integer >= 0");
  checkLimit(page.limit);
  const keys = rankKeys(prefix, boardId, periodKey);
  const reply = replyArray(
    await read(
      runScript(
        redis,
        PAGE_SCRIPT,
        [keys.z, keys.m, keys.ready, keys.d],
        [String(page.offset), String(page.limit), floorArg(options)],
      ),
      options,
    ),
    "page",
  );
  return windowOf(reply, 2);
}

/**
 * Keyset page: up to `limit` entries strictly after the cursor in ranking order, whether or not
 * the cursor's player still holds that position, so a walk never repeats or skips a row that
 * stayed put. Ranks are exact at the time of the read.
 */
export async function pageAfter(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  cursor: RedisRankCursor,
  limit: number,
  options: RedisCallOptions = {},
): Promise<RedisRankPage> {
  checkLimit(limit);
  const keys = rankKeys(prefix, boardId, periodKey);
  const args = [
    scoreArg(cursor.sortScore),
    encodeMember(cursor.reachedAt, cursor.playerId),
    String(limit),
    floorArg(options),
  ];
  const reply = replyArray(
    await read(runScript(redis, AFTER_SCRIPT, [keys.z, keys.m, keys.ready, keys.d], args), options),
    "page after",
  );
  return windowOf(reply, 2);
}

/**
 * Up to n entries above and n below the player (clipped at the ends); null if the player is absent.
 */
export async function aroundFromRedis(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  playerId: string,
  n: number,
  options: RedisCallOptions = {},
): Promise<RedisAround | null> {
  if (!Number.isSafeInteger(n) || n < 0 || 2 * n + 1 > REDIS_MAX_PAGE) {
    throw new RangeError(
      `aroundFromRedis: n must be an integer in [0, ${Math.floor((REDIS_MAX_PAGE - 1) / 2)}]`,
    );
  }
  const keys = rankKeys(prefix, boardId, periodKey);
  const reply = await read(
    runScript(
      redis,
      AROUND_SCRIPT,
      [keys.z, keys.m, keys.ready, keys.d],
      [playerId, String(n), floorArg(options)],
    ),
    options,
  );
  if (reply === null || reply === undefined) return null;
  const flat = replyArray(reply, "around");
  const page = windowOf(flat, 3);
  return { ...page, rank: replyInt(flat[2], "rank") + 1 };
}

/**
 * The rank a score would get if reached now: after every entry with a better or equal sortScore
 * (an equal score reached earlier ranks higher), i.e. ZCOUNT(-inf, sortScore) + 1. `total` is
 * the current size, not counting the hypothetical entry.
 */
export async function rankForScoreFromRedis(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  sortScore: number,
  options: RedisCallOptions = {},
): Promise<{ rank: number; total: number }> {
  const keys = rankKeys(prefix, boardId, periodKey);
  const reply = replyArray(
    await read(
      runScript(
        redis,
        FOR_SCORE_SCRIPT,
        [keys.z, keys.m, keys.ready],
        [scoreArg(sortScore), floorArg(options)],
      ),
      options,
    ),
    "rank for score",
  );
  return { rank: replyInt(reply[0], "count") + 1, total: replyInt(reply[1], "total") };
}

/** Number of ranked players in a board-period (0 when Redis holds nothing for it). */
export async function countFromRedis(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  options: RedisCallOptions = {},
): Promise<number> {
  const keys = rankKeys(prefix, boardId, periodKey);
  return replyInt(await read(redis.zcard(keys.z), options), "total");
}

async function read<T>(promise: Promise<T>, options: RedisCallOptions): Promise<T> {
  try {
    return await withTimeout(
      promise,
      options.timeoutMs ?? REDIS_READ_TIMEOUT_MS,
      "Redis rank read",
    );
  } catch (error) {
    if (error instanceof Error && error.message.includes(NOT_READY_REPLY))
      throw new RedisNotReadyError();
    throw error;
  }
}

/** `{total, start, [extra], member, score, display, …}` → entries ranked from start + 1. */
function windowOf(flat: unknown[], entriesFrom: number): RedisRankPage {
  const total = replyInt(flat[0], "total");
  const start = replyInt(flat[1], "start");
  return { entries: replyEntries(flat, entriesFrom, start + 1), total };
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > REDIS_MAX_PAGE) {
    throw new RangeError(`redis rank store: limit must be an integer in [1, ${REDIS_MAX_PAGE}]`);
  }
}
