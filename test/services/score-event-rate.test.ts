import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { counters } from "../../src/lib/metrics";
import type { IngestReply } from "../helpers/factories";
import {
  ADMIN,
  createBoard,
  eventId,
  eventually,
  query,
  testEnv,
  uniqueId,
} from "../helpers/factories";
import { testRedis } from "../stores/redis/fixtures";

type ScoreEvent = {
  id: string;
  type: string;
  playerId: string;
  occurredAt: string;
  boardId: string;
  score: number;
};

const hasRedis = Boolean(testEnv.UPSTASH_REDIS_REST_URL);
const app = createApp();

/** No Upstash configured: every isolate counts on its own. */
const withoutRedis: AppBindings = {
  ...testEnv,
  UPSTASH_REDIS_REST_URL: undefined,
  UPSTASH_REDIS_REST_TOKEN: undefined,
};

/** Upstash configured but unreachable (a port nothing listens on; its own circuit breaker). */
function redisDown(): AppBindings {
  return {
    ...testEnv,
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:1/${uniqueId("dead")}`,
    UPSTASH_REDIS_REST_TOKEN: "token",
  };
}

function scoreEvent(boardId: string, playerId: string, score = 1): ScoreEvent {
  return {
    id: eventId(),
    type: "score",
    playerId,
    occurredAt: new Date(Date.now() - 1000).toISOString(),
    boardId,
    score,
  };
}

async function ingest(env: AppBindings, events: ScoreEvent[]): Promise<IngestReply> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request("http://edge.test/v1/events", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ events }),
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(202);
  return (await res.json()) as IngestReply;
}

const codes = (reply: IngestReply) => reply.rejected.map((r) => [r.index, r.error.code]);

/**
 * Counters are per calendar minute: a test whose requests straddled a minute's end would see the
 * count restart, so it waits for the next minute when fewer than 15 s remain.
 */
async function clearOfMinuteEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

/** Ids of the board's events the consumer stored, once `expected` of them have landed. */
async function storedIds(board: string, expected: number): Promise<Set<string>> {
  const ids = await eventually(
    async () => {
      const rows = await query<{ event_id: string }>(
        sql`select event_id from events where board_id = ${board}`,
      );
      return rows.length >= expected ? rows.map((r) => r.event_id) : undefined;
    },
    15_000,
    `${expected} stored events`,
  );
  return new Set(ids);
}

/** The same behaviour whatever counts: Redis (global) or the isolate's memory. */
const variants: Array<[string, () => AppBindings, boolean]> = [
  ["Redis", () => testEnv, !hasRedis],
  ["the isolate without Upstash", () => withoutRedis, false],
  ["the isolate while Redis is down", redisDown, false],
];

describe.each(variants)("TOO_MANY_SCORE_EVENTS counted by %s", (_name, envOf, skip) => {
  it.skipIf(skip)(
    "accepts exactly the limit in one batch, by order, and rejects the rest; other players and boards are unaffected",
    async () => {
      await clearOfMinuteEdge();
      const env = envOf();
      const board = await createBoard({ maxScoreEventsPerMinute: 3 });
      const open = await createBoard();
      const other = await createBoard({ maxScoreEventsPerMinute: 3 });
      const before = counters.rejectedTooManyScoreEvents;
      // a's events are interleaved with b's and with other boards': only a's 4th and 5th on `board`
      // go.
      const events = [
        scoreEvent(board, "a", 1),
        scoreEvent(board, "b", 1),
        scoreEvent(board, "a", 2),
        scoreEvent(open, "a", 1),
        scoreEvent(board, "a", 3),
        scoreEvent(board, "a", 4),
        scoreEvent(other, "a", 1),
        scoreEvent(board, "b", 2),
        scoreEvent(board, "a", 5),
        scoreEvent(board, "b", 3),
        ...Array.from({ length: 5 }, (_, i) => scoreEvent(open, "a", i)),
      ];
      const reply = await ingest(env, events);
      expect(codes(reply)).toEqual([
        [5, "TOO_MANY_SCORE_EVENTS"],
        [8, "TOO_MANY_SCORE_EVENTS"],
      ]);
      expect(reply.rejected[0]?.error.message).toMatch(/more than 3 score events/);
      expect(reply.accepted).toBe(events.length - 2);
      expect(counters.rejectedTooManyScoreEvents - before).toBe(2);

      // The next request of a on `board` is refused whole; b's remaining allowance is 0 too, c's
      // intact.
      const next = await ingest(env, [
        scoreEvent(board, "a"),
        scoreEvent(board, "b"),
        scoreEvent(board, "c"),
        scoreEvent(other, "a"),
      ]);
      expect(codes(next)).toEqual([
        [0, "TOO_MANY_SCORE_EVENTS"],
        [1, "TOO_MANY_SCORE_EVENTS"],
      ]);

      // Rejected events never reach Postgres (they travel in no queue message).
      const stored = await storedIds(board, 7);
      const refused = [events[5], events[8]].map((e) => e?.id ?? "");
      expect(refused.filter((id) => stored.has(id))).toEqual([]);
      expect(stored.size).toBe(7);
    },
  );

  it.skipIf(skip)(
    "across requests: exactly the limit is accepted, then each further event is rejected",
    async () => {
      await clearOfMinuteEdge();
      const env = envOf();
      const board = await createBoard({ operator: "increment", maxScoreEventsPerMinute: 5 });
      const replies: IngestReply[] = [];
      for (const size of [2, 2, 2, 1])
        replies.push(
          await ingest(
            env,
            Array.from({ length: size }, () => scoreEvent(board, "p")),
          ),
        );
      expect(replies.map((r) => r.accepted)).toEqual([2, 2, 1, 0]);
      expect(replies.map(codes)).toEqual([
        [],
        [],
        [[1, "TOO_MANY_SCORE_EVENTS"]],
        [[0, "TOO_MANY_SCORE_EVENTS"]],
      ]);
    },
  );

  it.skipIf(skip)(
    "concurrent requests share the allowance: never more than the limit in total",
    async () => {
      await clearOfMinuteEdge();
      const env = envOf();
      const board = await createBoard({ maxScoreEventsPerMinute: 7 });
      const replies = await Promise.all(
        Array.from({ length: 6 }, () =>
          ingest(env, [scoreEvent(board, "q"), scoreEvent(board, "q")]),
        ),
      );
      expect(replies.reduce((sum, r) => sum + r.accepted, 0)).toBe(7);
    },
  );
});

describe("TOO_MANY_SCORE_EVENTS: what it costs", () => {
  it.skipIf(!hasRedis)(
    "counts in Redis with one round trip per request, in keys under the run's prefix that expire",
    async () => {
      await clearOfMinuteEdge();
      const board = await createBoard({ maxScoreEventsPerMinute: 50 });
      const calls = counters.scoreRateRedisCalls;
      const local = counters.scoreRateLocal;
      await ingest(testEnv, [
        scoreEvent(board, "x"),
        scoreEvent(board, "y:z|1"),
        scoreEvent(board, "x"),
      ]);
      expect(counters.scoreRateRedisCalls - calls).toBe(1);
      expect(counters.scoreRateLocal - local).toBe(0);
      const redis = testRedis();
      const keys = (
        (await redis.keys(`${testEnv.REDIS_KEY_PREFIX}rate:${board}:*`)) as string[]
      ).sort();
      expect(keys).toHaveLength(2);
      const x = keys.find((k) => k.endsWith(":x"));
      expect(Number(await redis.get(x ?? ""))).toBe(2);
      const ttl = await redis.pttl(x ?? "");
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(70_000);
    },
  );

  it.skipIf(!hasRedis)(
    "a request touching no limited board makes no Redis call and creates no key",
    async () => {
      const board = await createBoard({ operator: "increment", maxIncrement: 10 });
      const calls = counters.scoreRateRedisCalls;
      const local = counters.scoreRateLocal;
      const reply = await ingest(testEnv, [
        scoreEvent(board, "free"),
        scoreEvent(board, "free"),
        { ...scoreEvent(board, "free"), type: "level_up" },
      ]);
      expect(reply.accepted).toBe(3);
      expect(counters.scoreRateRedisCalls - calls).toBe(0);
      expect(counters.scoreRateLocal - local).toBe(0);
      expect(await testRedis().keys(`${testEnv.REDIS_KEY_PREFIX}rate:${board}:*`)).toEqual([]);
    },
  );

  it("while Redis fails, the limit still holds in the isolate, and the failure is counted", async () => {
    await clearOfMinuteEdge();
    const env = redisDown();
    const board = await createBoard({ maxScoreEventsPerMinute: 1 });
    const failures = counters.redisFailures;
    const local = counters.scoreRateLocal;
    const reply = await ingest(env, [scoreEvent(board, "p"), scoreEvent(board, "p")]);
    expect(codes(reply)).toEqual([[1, "TOO_MANY_SCORE_EVENTS"]]);
    expect(counters.redisFailures - failures).toBe(1);
    expect(counters.scoreRateLocal - local).toBe(1);
  });
});
