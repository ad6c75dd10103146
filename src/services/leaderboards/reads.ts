import type { Redis } from "@upstash/redis/cloudflare";
import { percentile } from "../../domain";
import { apiEntry, type PageCursorKey } from "../../domain/leaderboard";
import { CircuitOpenError } from "../../lib/circuit-breaker";
import { describeError, log } from "../../lib/log";
import { count } from "../../lib/metrics";
import type { Stores } from "../../stores";
import { leaderboardStub, objectConfig } from "../../stores/objects/leaderboard";
import { periodMayHoldRecords } from "../../stores/postgres/period-presence";
import { postgresRanks } from "../../stores/postgres/rank-gate";
import {
  aroundFromPostgres,
  countFromPostgres,
  type PlayerRank,
  pageFromPostgres,
  playerRankFromPostgres,
  playersFromPostgres,
  type RankedRow,
  rankForScoreFromPostgres,
} from "../../stores/postgres/ranks";
import type { Board } from "../../stores/postgres/schema";
import { redisBreakerFor } from "../../stores/redis/client";
import {
  aroundFromRedis,
  pageAfter,
  pageFromRedis,
  type RedisAround,
  RedisNotReadyError,
  type RedisRankEntry,
  rankForScoreFromRedis,
  rankFromRedis,
  ranksFromRedis,
} from "../../stores/redis/ranks";
import { minimumRedisWatermark, noteWatermark } from "../../stores/redis/watermarks";

/** One row of any leaderboard response. */
export interface EntryView {
  rank: number;
  playerId: string;
  displayName?: string;
  score: number;
  reachedAt: string;
  metadata?: Record<string, unknown>;
}

/** Which store answered: the hot top-N, Redis beyond it, or Postgres as the fallback. */
export type Source = "durable_object" | "redis" | "postgres";

/** The stores a read uses: a request's own (routes), or ones a test or cron run builds. */
export type ReadContext = Pick<Stores, "env" | "db" | "redis">;

/**
 * A position in board order, in the terms every store understands (smaller sortScore is better).
 */
interface Position {
  sortScore: number;
  reachedAt: number;
  playerId: string;
}

const toSortScore = (board: Board, score: number) =>
  board.sortOrder === "desc" ? 0 - score : score;
const fromSortScore = (board: Board, sortScore: number) =>
  board.sortOrder === "desc" ? 0 - sortScore : sortScore;

type LeaderboardStub = ReturnType<typeof leaderboardStub>;

/**
 * A page read from the board-period's object. The first read of an object that never saw its
 * board-period (new deploy, lost storage, a past period) loads it from Postgres once and reads
 * again; from then on it answers alone.
 */
async function fromInitializedObject<T extends { initialized: boolean; writtenAt: number }>(
  ctx: ReadContext,
  board: Board,
  periodKey: string,
  read: (stub: LeaderboardStub) => Promise<T>,
): Promise<T> {
  const stub = leaderboardStub(ctx.env, board.id, periodKey);
  count("doReads");
  const first = await read(stub);
  noteWatermark(board.id, periodKey, first.writtenAt);
  if (first.initialized) return first;
  count("doRebuilds");
  await stub.rebuild(objectConfig(ctx.env, board, periodKey));
  return read(stub);
}

/**
 * Redis reads of a board-period accept no keys older than what this isolate knows its object
 * applied.
 */
const heldTo = (board: Board, periodKey: string) => ({
  minWatermark: minimumRedisWatermark(board.id, periodKey),
});

function fromPostgres(row: RankedRow): EntryView {
  return {
    rank: row.rank,
    playerId: row.playerId,
    ...(row.displayName ? { displayName: row.displayName } : {}),
    score: row.score,
    reachedAt: row.reachedAt,
    ...(row.metadata ? { metadata: row.metadata } : {}),
  };
}

/** A row as Redis returned it: ranks, names and metadata all come from the same script call. */
function fromRedisEntry(board: Board, r: RedisRankEntry): EntryView {
  return {
    rank: r.rank,
    playerId: r.playerId,
    ...(r.displayName ? { displayName: r.displayName } : {}),
    score: fromSortScore(board, r.sortScore),
    reachedAt: new Date(r.reachedAt).toISOString(),
    ...(r.metadata ? { metadata: r.metadata } : {}),
  };
}

/**
 * Counts why Redis could not answer. A board-period it does not hold whole yet is expected (new
 * periods until the reconciliation cron loads them) and only counted; a failure is also logged.
 */
function noteRedisMiss(error: unknown, fallback: string): void {
  if (error instanceof RedisNotReadyError) {
    count("redisNotReady");
    return;
  }
  if (error instanceof CircuitOpenError) {
    count("redisSkipped");
    return;
  }
  count("redisFailures");
  log.warn(`reads: Redis unavailable, ${fallback}`, { error: describeError(error) });
}

/** A board-period Redis has not loaded is an answer, not a failure of Redis. */
const countsAgainstRedis = (error: unknown) => !(error instanceof RedisNotReadyError);

/** Redis' answer, or `undefined` when Upstash is not configured or could not answer. */
async function fromRedis<T>(
  ctx: ReadContext,
  viaRedis: (redis: Redis) => Promise<T>,
  fallback: string,
): Promise<{ value: T } | undefined> {
  if (!ctx.redis) return undefined;
  const redis = ctx.redis;
  try {
    count("redisReads");
    return { value: await redisBreakerFor(ctx.env).run(() => viaRedis(redis), countsAgainstRedis) };
  } catch (error) {
    noteRedisMiss(error, fallback);
    return undefined;
  }
}

/**
 * Runs the Redis variant of a read when Upstash is configured and answers, else the Postgres one:
 * the same answer either way; Redis is faster on a large board (O(log N) in memory, against band
 * counts and an index range in Postgres). A Redis failure is counted and logged, never surfaced.
 */
async function redisOrPostgres<T>(
  ctx: ReadContext,
  viaRedis: (redis: Redis) => Promise<T>,
  viaPostgres: () => Promise<T>,
): Promise<{ value: T; source: Source }> {
  const redis = await fromRedis(ctx, viaRedis, "answering from Postgres");
  if (redis) return { value: redis.value, source: "redis" };
  count("postgresReads");
  return { value: await postgresRanks.run(viaPostgres), source: "postgres" };
}

/** A page's size and, for a later page, the last row of the one before. */
interface ReadPageOptions {
  limit: number;
  after?: PageCursorKey | undefined;
}

/**
 * A page of a board-period in rank order. The top-N comes from the board's Durable Object with no
 * database query; a page reaching past it continues from Redis (or Postgres) after the last row,
 * so cursor pages neither repeat nor skip rows across the boundary.
 */
export async function readPage(
  ctx: ReadContext,
  board: Board,
  periodKey: string,
  options: ReadPageOptions,
): Promise<{ entries: EntryView[]; total: number; hasMore: boolean; source: Source }> {
  if (!(await periodMayHoldRecords(ctx.db, board, periodKey)))
    return { entries: [], total: 0, hasMore: false, source: "postgres" };
  const request = { limit: options.limit, ...(options.after ? { cursor: options.after } : {}) };
  const page = await fromInitializedObject(ctx, board, periodKey, (stub) => stub.page(request));
  const entries = page.entries.map(apiEntry);
  let total = page.total;
  let source: Source = "durable_object";
  const heldExhausted = page.entries.length < options.limit && page.hasMore;
  if (heldExhausted) {
    const last = page.entries.at(-1);
    const after: Position | null = last
      ? {
          sortScore: toSortScore(board, last.score),
          reachedAt: last.reachedAt,
          playerId: last.playerId,
        }
      : options.after
        ? {
            sortScore: toSortScore(board, options.after.score),
            reachedAt: options.after.reachedAt,
            playerId: options.after.playerId,
          }
        : null;
    const remaining = options.limit - entries.length;
    const more = await redisOrPostgres(
      ctx,
      async (redis) => {
        const slice = after
          ? await pageAfter(
              redis,
              ctx.env.REDIS_KEY_PREFIX,
              board.id,
              periodKey,
              after,
              remaining,
              heldTo(board, periodKey),
            )
          : await pageFromRedis(
              redis,
              ctx.env.REDIS_KEY_PREFIX,
              board.id,
              periodKey,
              { offset: 0, limit: remaining },
              heldTo(board, periodKey),
            );
        return { entries: slice.entries.map((r) => fromRedisEntry(board, r)), total: slice.total };
      },
      async () => {
        // The object already told the board-period's size: no need to count the board again.
        const rows = await pageFromPostgres(ctx.db(), board.id, periodKey, {
          limit: remaining,
          after: after
            ? {
                sortScore: after.sortScore,
                reachedAt: new Date(after.reachedAt).toISOString(),
                playerId: after.playerId,
              }
            : undefined,
        });
        return { entries: rows.map(fromPostgres), total: page.total };
      },
    );
    entries.push(...more.value.entries);
    total = Math.max(more.value.total, entries.at(-1)?.rank ?? 0);
    source = more.source;
  }
  const lastRank = entries.at(-1)?.rank ?? 0;
  return { entries, total, hasMore: entries.length === options.limit && lastRank < total, source };
}

/**
 * The common page read, the top-N answered by the Durable Object alone, with the entries as the
 * object serialized them (no clone and re-encode of every entry). Null when the page reaches past
 * the held top-N: `readPage` continues it from Redis or Postgres.
 */
export async function readPageJson(
  ctx: ReadContext,
  board: Board,
  periodKey: string,
  options: ReadPageOptions,
): Promise<{
  entriesJson: string;
  last: { score: number; reachedAt: number; playerId: string } | null;
  total: number;
  hasMore: boolean;
} | null> {
  if (!(await periodMayHoldRecords(ctx.db, board, periodKey)))
    return { entriesJson: "[]", last: null, total: 0, hasMore: false };
  const request = { limit: options.limit, ...(options.after ? { cursor: options.after } : {}) };
  const page = await fromInitializedObject(ctx, board, periodKey, (stub) => stub.pageJson(request));
  if (page.count < options.limit && page.hasMore) return null;
  const lastRank = page.last?.rank ?? 0;
  return {
    entriesJson: page.entriesJson,
    last: page.last,
    total: page.total,
    hasMore: page.count === options.limit && lastRank < page.total,
  };
}

export type PlayerStanding = PlayerRank & { displayName?: string; source: Source };

/**
 * A player's standing. With Redis, Redis answers every player it knows, near the top as well:
 * one script call, no call to the board's Durable Object, which is the one hot spot every PoP
 * shares (about 1,000 requests/s per object; docs/capacity.md). Redis takes each batch a moment
 * after the object and before the page's purge, so it is never behind the page a player sees.
 * The object is asked only when Redis cannot answer (not configured, failing, not loaded, behind
 * what this isolate saw the object apply) or does not know the player yet (a first score whose
 * Redis write is in flight), then Postgres beyond the object's top-N. The price: a Redis write
 * that failed (an Upstash outage) leaves its records stale for other isolates until the
 * reconciliation cron repairs them (docs/failure-modes.md).
 */
export async function readPlayerRank(
  ctx: ReadContext,
  board: Board,
  periodKey: string,
  playerId: string,
): Promise<PlayerStanding | null> {
  if (!(await periodMayHoldRecords(ctx.db, board, periodKey))) return null;
  const redis = await fromRedis(
    ctx,
    (redis) =>
      rankFromRedis(
        redis,
        ctx.env.REDIS_KEY_PREFIX,
        board.id,
        periodKey,
        playerId,
        heldTo(board, periodKey),
      ),
    "answering from the Durable Object or Postgres",
  );
  const r = redis?.value;
  const viaRedis: PlayerStanding | null = r
    ? {
        playerId,
        score: fromSortScore(board, r.sortScore),
        rank: r.rank,
        total: r.total,
        percentile: percentile(r.rank, Math.max(r.total, r.rank)),
        reachedAt: new Date(r.reachedAt).toISOString(),
        ...(r.displayName ? { displayName: r.displayName } : {}),
        source: "redis",
      }
    : null;
  if (viaRedis) return viaRedis;
  count("doReads");
  const held = await leaderboardStub(ctx.env, board.id, periodKey).standing(playerId);
  noteWatermark(board.id, periodKey, held.writtenAt);
  if (held.entry) {
    const total = Math.max(held.total, held.entry.rank);
    return {
      playerId,
      score: held.entry.score,
      rank: held.entry.rank,
      total,
      percentile: percentile(held.entry.rank, total),
      reachedAt: new Date(held.entry.reachedAt).toISOString(),
      ...(held.entry.displayName ? { displayName: held.entry.displayName } : {}),
      source: "durable_object",
    };
  }
  if (redis) return viaRedis;
  count("postgresReads");
  // The object's total (kept per batch, reconciled on rebuild) spares counting the whole board.
  const viaPostgres = await postgresRanks.run(() =>
    playerRankFromPostgres(
      ctx.db(),
      board.id,
      periodKey,
      playerId,
      held.total > 0 ? held.total : undefined,
    ),
  );
  return viaPostgres ? { ...viaPostgres, source: "postgres" } : null;
}

/**
 * n rows above and n below a player (fewer at the edges), the player among them, names included.
 * Redis first, as for a rank: the object only when Redis cannot answer or does not know the
 * player.
 */
export async function readAround(
  ctx: ReadContext,
  board: Board,
  periodKey: string,
  playerId: string,
  n: number,
): Promise<{ entries: EntryView[]; total: number; source: Source } | null> {
  if (!(await periodMayHoldRecords(ctx.db, board, periodKey))) return null;
  const redis = await fromRedis(
    ctx,
    (redis) =>
      aroundFromRedis(
        redis,
        ctx.env.REDIS_KEY_PREFIX,
        board.id,
        periodKey,
        playerId,
        n,
        heldTo(board, periodKey),
      ),
    "answering from the Durable Object or Postgres",
  );
  const viaRedis = (r: RedisAround) => ({
    entries: r.entries.map((e) => fromRedisEntry(board, e)),
    total: r.total,
    source: "redis" as const,
  });
  if (redis?.value) return viaRedis(redis.value);
  count("doReads");
  const stub = leaderboardStub(ctx.env, board.id, periodKey);
  const held = await stub.around(playerId, n);
  if (held) {
    const me = held.entries.find((e) => e.playerId === playerId);
    const below = me ? held.entries.filter((e) => e.rank > me.rank).length : 0;
    const lastHeldRank = held.entries.at(-1)?.rank ?? 0;
    // Complete when the window below is full, or the board ends inside the held rows.
    if (below >= n || lastHeldRank >= held.total) {
      return {
        entries: held.entries.map(apiEntry),
        total: Math.max(held.total, lastHeldRank),
        source: "durable_object",
      };
    }
  }
  if (redis) return redis.value ? viaRedis(redis.value) : null;
  count("postgresReads");
  const db = ctx.db();
  const rows = await postgresRanks.run(() =>
    aroundFromPostgres(db, board.id, periodKey, playerId, n),
  );
  if (!rows) return null;
  // The object's total (kept per batch, reconciled on rebuild) spares counting the whole board.
  const objectTotal = held?.total ?? (await stub.standing(playerId)).total;
  return {
    entries: rows.map(fromPostgres),
    total: objectTotal > 0 ? objectTotal : await countFromPostgres(db, board.id, periodKey),
    source: "postgres",
  };
}

/**
 * The records of several players (friends) on one board-period, ranked; absent players are left
 * out. Redis answers them all in one script call; without Redis, the object and then Postgres.
 */
export async function readPlayers(
  ctx: ReadContext,
  board: Board,
  periodKey: string,
  playerIds: string[],
): Promise<{ entries: EntryView[]; total: number }> {
  if (!(await periodMayHoldRecords(ctx.db, board, periodKey))) return { entries: [], total: 0 };
  const redis = await fromRedis(
    ctx,
    (redis) =>
      ranksFromRedis(
        redis,
        ctx.env.REDIS_KEY_PREFIX,
        board.id,
        periodKey,
        playerIds,
        heldTo(board, periodKey),
      ),
    "answering from the Durable Object or Postgres",
  );
  // Redis' rows by player. A player unknown to Redis has no record yet (or one a moment old, not
  // projected there: a friends list may trail by that moment rather than send every list with a
  // newcomer to the object).
  const viaRedis = new Map<string, RedisRankEntry>();
  let total = 0;
  redis?.value.forEach((r, i) => {
    if (!r) return;
    const playerId = playerIds[i] as string;
    viaRedis.set(playerId, { ...r, playerId });
    total = Math.max(total, r.total);
  });
  const found: EntryView[] = [];
  const askObject = redis ? [] : playerIds;
  if (askObject.length > 0) {
    count("doReads");
    const held = await leaderboardStub(ctx.env, board.id, periodKey).standingsOf(askObject);
    found.push(...held.entries.map(apiEntry));
    total = Math.max(total, held.total);
    for (const entry of held.entries) viaRedis.delete(entry.playerId);
    if (!redis && held.notHeld.length > 0) {
      count("postgresReads");
      const db = ctx.db();
      const rows = await postgresRanks.run(() =>
        playersFromPostgres(db, board.id, periodKey, held.notHeld),
      );
      // The object's total spares counting the whole board.
      const boardTotal =
        rows.length === 0
          ? 0
          : held.total > 0
            ? held.total
            : await countFromPostgres(db, board.id, periodKey);
      found.push(...rows.map(fromPostgres));
      total = Math.max(total, boardTotal);
    }
  }
  found.push(...[...viaRedis.values()].map((r) => fromRedisEntry(board, r)));
  found.sort((a, b) => a.rank - b.rank);
  return { entries: found, total: Math.max(total, found.at(-1)?.rank ?? 0) };
}

/**
 * The rank a score would get now (dry run: nothing is written). Redis when it can answer; else
 * the object for a rank within its top-N, then Postgres.
 */
export async function readRankForScore(
  ctx: ReadContext,
  board: Board,
  periodKey: string,
  score: number,
): Promise<{ rank: number; total: number; source: Source }> {
  if (!(await periodMayHoldRecords(ctx.db, board, periodKey)))
    return { rank: 1, total: 0, source: "postgres" };
  const sortScore = toSortScore(board, score);
  const redis = await fromRedis(
    ctx,
    (redis) =>
      rankForScoreFromRedis(
        redis,
        ctx.env.REDIS_KEY_PREFIX,
        board.id,
        periodKey,
        sortScore,
        heldTo(board, periodKey),
      ),
    "answering from the Durable Object or Postgres",
  );
  if (redis) return { ...redis.value, source: "redis" };
  count("doReads");
  const held = await leaderboardStub(ctx.env, board.id, periodKey).rankForScore(score);
  if (held.withinTop) return { rank: held.rank, total: held.total, source: "durable_object" };
  count("postgresReads");
  const db = ctx.db();
  const [rank, total] = await postgresRanks.run(() =>
    Promise.all([
      rankForScoreFromPostgres(db, board.id, periodKey, sortScore),
      // The object's total spares counting the whole board.
      held.total > 0 ? held.total : countFromPostgres(db, board.id, periodKey),
    ]),
  );
  return { rank, total: Math.max(total, rank - 1), source: "postgres" };
}
