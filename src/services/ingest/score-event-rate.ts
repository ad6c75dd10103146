import type { EventBody } from "../../domain/messages";
import { BoundedMap } from "../../lib/bounded-map";
import { CircuitOpenError } from "../../lib/circuit-breaker";
import { describeError, log } from "../../lib/log";
import { count } from "../../lib/metrics";
import { withTimeout } from "../../lib/timeout";
import type { Board } from "../../stores/postgres/schema";
import { openRedis, type RedisEnv, redisBreakerFor } from "../../stores/redis/client";
import { replyInt } from "../../stores/redis/reply";
import type { Rejection } from "./event-validation";

/**
 * Fixed windows of the server clock: one counter per (board, player, minute), so a burst at a
 * window's edge may reach twice the limit over any sliding minute, never more.
 */
const WINDOW_MS = 60_000;
/** Counters outlive their window a little, for isolates whose clocks run slightly behind. */
const KEY_SLACK_MS = 10_000;
/** A slow Redis must cost an ingest request little: past this the isolate counts on its own. */
const REDIS_TIMEOUT_MS = 1_000;
/**
 * The fallback counters of this isolate (no Upstash, or Redis failing), by (board, player, window).
 * Each isolate then sees only its own requests, so the limit is per isolate: weaker than the
 * global one. Bounded: a flood of players evicts the oldest counters, which only loosens it.
 */
const local = new BoundedMap<string, number>(10_000);

/** An event that passed every other check, with its index in the request. */
export interface ValidEvent {
  index: number;
  message: EventBody;
}

/** The events of one (board, player) in this request, in request order, and their board's limit. */
interface Group {
  boardId: string;
  playerId: string;
  limit: number;
  indexes: number[];
}

/**
 * Applies each board's maxScoreEventsPerMinute per player: the events of a (board, player) beyond
 * the limit in the current minute are rejected (TOO_MANY_SCORE_EVENTS), the earliest in the
 * request kept. Counting is global through Redis, one pipeline per request that adds each
 * (board, player)'s whole count at once; concurrent requests then split the remaining allowance
 * without exceeding it. A request touching no limited board returns at once, with no Redis call.
 */
export async function limitScoreEvents(
  env: RedisEnv,
  boards: ReadonlyMap<string, Board>,
  events: readonly ValidEvent[],
  now: number,
): Promise<{ accepted: EventBody[]; rejected: Rejection[] }> {
  const groups = groupLimited(boards, events);
  if (groups.length === 0) return { accepted: events.map((e) => e.message), rejected: [] };

  const window = Math.floor(now / WINDOW_MS);
  const totals = (await countInRedis(env, groups, window, now)) ?? countLocally(groups, window);
  const retryIn = Math.ceil(((window + 1) * WINDOW_MS - now) / 1000);
  const over = new Map<number, string>();
  groups.forEach((group, i) => {
    // The counter after this request added its events: those past the limit are the excess.
    const before = (totals[i] ?? 0) - group.indexes.length;
    const allowed = Math.max(0, group.limit - before);
    const message =
      `player "${group.playerId}" sent more than ${group.limit} score events ` +
      `to board "${group.boardId}" this minute; retry in ${retryIn} s`;
    for (const index of group.indexes.slice(allowed)) over.set(index, message);
  });

  const accepted: EventBody[] = [];
  const rejected: Rejection[] = [];
  for (const event of events) {
    const message = over.get(event.index);
    if (message === undefined) accepted.push(event.message);
    else rejected.push({ index: event.index, error: { code: "TOO_MANY_SCORE_EVENTS", message } });
  }
  return { accepted, rejected };
}

function groupLimited(boards: ReadonlyMap<string, Board>, events: readonly ValidEvent[]): Group[] {
  const groups = new Map<string, Group>();
  for (const { index, message } of events) {
    if (message.boardId === undefined) continue;
    // `?? null`: a board copy cached before the column existed lacks it.
    const limit = boards.get(message.boardId)?.maxScoreEventsPerMinute ?? null;
    if (limit === null) continue;
    const key = `${message.boardId}\n${message.playerId}`;
    let group = groups.get(key);
    if (!group) {
      group = { boardId: message.boardId, playerId: message.playerId, limit, indexes: [] };
      groups.set(key, group);
    }
    group.indexes.push(index);
  }
  return [...groups.values()];
}

/**
 * Board ids cannot contain ':' and the window is digits, so the player id, last, keeps every key
 * distinct whatever characters it holds.
 */
function counterKey(group: Group, window: number): string {
  return `rate:${group.boardId}:${window}:${group.playerId}`;
}

/**
 * Each group's counter after adding its events, from Redis (INCRBY + PEXPIRE in one pipeline); null
 * when Redis is absent or fails.
 */
async function countInRedis(
  env: RedisEnv,
  groups: Group[],
  window: number,
  now: number,
): Promise<number[] | null> {
  const redis = openRedis(env);
  if (!redis) return null;
  const ttlMs = (window + 1) * WINDOW_MS + KEY_SLACK_MS - now;
  try {
    return await redisBreakerFor(env).run(async () => {
      count("scoreRateRedisCalls");
      const pipeline = redis.pipeline();
      for (const group of groups) {
        const key = env.REDIS_KEY_PREFIX + counterKey(group, window);
        pipeline.incrby(key, group.indexes.length).pexpire(key, ttlMs);
      }
      const replies = await withTimeout(
        pipeline.exec(),
        REDIS_TIMEOUT_MS,
        "Redis score-event count",
      );
      return groups.map((_, i) => replyInt(replies[i * 2], "score-event count"));
    });
  } catch (error) {
    if (error instanceof CircuitOpenError) count("redisSkipped");
    else {
      count("redisFailures");
      log.warn("ingest: Redis unavailable, counting score events per isolate", {
        error: describeError(error),
      });
    }
    return null;
  }
}

function countLocally(groups: Group[], window: number): number[] {
  count("scoreRateLocal");
  return groups.map((group) => {
    const key = counterKey(group, window);
    const total = (local.get(key) ?? 0) + group.indexes.length;
    local.set(key, total);
    return total;
  });
}
