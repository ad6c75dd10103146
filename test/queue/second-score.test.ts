import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { reloadBoardPeriod } from "../../src/services/projection/rank-reload";
import { leaderboardStub } from "../../src/stores/objects/leaderboard";
import { openDatabase } from "../../src/stores/postgres/client";
import { openRedis } from "../../src/stores/redis/client";
import { countFromRedis, rankFromRedis } from "../../src/stores/redis/ranks";
import { api, createBoard, eventId, postEvents, query, testEnv } from "../helpers/factories";

/**
 * A player's second score, through the real path (POST /v1/events → queue → consumer → Postgres →
 * projections), must reach every store that serves reads. The projections apply a record only when
 * its version is newer than the one they hold, so a batch writer that stops bumping `version` on
 * update leaves Postgres right and freezes the Durable Object, Redis and the pages at each
 * player's first score.
 */

type Operator = "best" | "latest" | "increment";

/** One case per operator: the player's two events and what the board shows after each. */
const CASES: Array<{ operator: Operator; first: number; second: number; after: number }> = [
  // best (desc): a better score replaces the first one and passes the rival.
  { operator: "best", first: 30, second: 80, after: 80 },
  // latest: a newer score replaces the first one, even a worse one (it falls behind the rival).
  { operator: "latest", first: 60, second: 20, after: 20 },
  // increment: the second step adds to the first, and the total passes the rival.
  { operator: "increment", first: 30, second: 40, after: 70 },
];

/** The rival's score, posted with the player's first: every case moves the player across it. */
const RIVAL = 50;

/** The board-period's ranking: [rank, player, score] by score, higher first. */
const ranking = (p1: number): Array<[number, string, number]> =>
  p1 > RIVAL
    ? [
        [1, "p1", p1],
        [2, "rival", RIVAL],
      ]
    : [
        [1, "rival", RIVAL],
        [2, "p1", p1],
      ];
const rankOf = (p1: number) => (p1 > RIVAL ? 1 : 2);

const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

async function post(board: string, scores: Array<[string, number]>): Promise<void> {
  const res = await postEvents(
    scores.map(([playerId, score]) => ({
      id: eventId(),
      type: "game_ended",
      playerId,
      occurredAt: iso(1_000),
      boardId: board,
      score,
    })),
  );
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ accepted: scores.length, rejected: [] });
}

/** Polls `read` until it gives `want`; on timeout fails with the last value it gave (a diff). */
async function settlesTo<T>(what: string, read: () => Promise<T>, want: T, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await read();
    if (Date.now() >= deadline) {
      expect(last, `${what} never showed the expected value`).toEqual(want);
      return;
    }
    try {
      expect(last).toEqual(want);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The player's record in Postgres (score and version). */
async function record(board: string, player: string) {
  const rows = await query<{ score: string; version: string }>(
    sql`select score::text, version::text from scores
        where board_id = ${board} and period_key = 'all' and player_id = ${player}`,
  );
  return rows.map((r) => ({ score: Number(r.score), version: Number(r.version) }));
}

/** What the board-period's Durable Object holds for the player. */
async function fromObject(board: string, player: string) {
  const { entry, total } = await leaderboardStub(testEnv, board, "all").standing(player);
  return { rank: entry?.rank, score: entry?.score, total };
}

/** What the Redis rank store answers for the player (the board-period is loaded and ready). */
async function fromRedis(board: string, player: string) {
  const redis = openRedis(testEnv);
  if (!redis) throw new Error("REDIS_URL is not set: these tests need Redis");
  const r = await rankFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all", player);
  return r && { rank: r.rank, score: -r.sortScore, total: r.total };
}

/** The leaderboard page over HTTP, the edge cache bypassed (development only). */
async function page(board: string) {
  const res = await api(`/v1/leaderboards/${board}?limit=10`, {
    headers: { "x-edgeboard-cache": "bypass" },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    board: string;
    periodKey: string;
    total: number;
    entries: Array<{ rank: number; playerId: string; score: number }>;
  };
  return {
    board: body.board,
    periodKey: body.periodKey,
    total: body.total,
    entries: body.entries.map((e) => [e.rank, e.playerId, e.score]),
  };
}

/** The player's standing over HTTP. */
async function standing(board: string, player: string) {
  const res = await api(`/v1/leaderboards/${board}/players/${player}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    playerId: string;
    score: number;
    rank: number;
    total: number;
  };
  return { playerId: body.playerId, score: body.score, rank: body.rank, total: body.total };
}

/** What the reconciliation cron does for a board-period Redis does not hold whole yet. */
async function loadIntoRedis(board: string): Promise<void> {
  const redis = openRedis(testEnv);
  if (!redis) throw new Error("REDIS_URL is not set: these tests need Redis");
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    await reloadBoardPeriod(handle.db, redis, testEnv.REDIS_KEY_PREFIX, board, "all", null);
  } finally {
    await handle.close();
  }
}

describe.skipIf(!testEnv.UPSTASH_REDIS_REST_URL)("a player's second score", () => {
  it.each(CASES)(
    "$operator: moves the record in Postgres, the Durable Object, Redis and the HTTP page",
    async ({ operator, first, second, after }) => {
      const board = await createBoard({ operator, sortOrder: "desc", periods: ["all"] });

      // The first score, next to a rival the second one moves the player across.
      await post(board, [
        ["rival", RIVAL],
        ["p1", first],
      ]);
      await settlesTo("the first score in Postgres", () => record(board, "p1"), [
        { score: first, version: 1 },
      ]);
      await settlesTo("the first score in the object", () => fromObject(board, "p1"), {
        rank: rankOf(first),
        score: first,
        total: 2,
      });
      // Redis got both records from the consumer; the cron's load marks the keys readable.
      await settlesTo(
        "both records in Redis",
        async () => {
          const redis = openRedis(testEnv);
          return redis ? countFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all") : 0;
        },
        2,
      );
      await loadIntoRedis(board);
      expect(await fromRedis(board, "p1")).toEqual({ rank: rankOf(first), score: first, total: 2 });
      expect(await page(board)).toEqual({
        board,
        periodKey: "all",
        total: 2,
        entries: ranking(first),
      });

      // The second score: the record moves in Postgres, and every projection follows it.
      await post(board, [["p1", second]]);
      await settlesTo(
        "the second score in Postgres",
        async () => (await record(board, "p1")).map((r) => r.score),
        [after],
      );
      // Every store that serves reads, polled together so a failure shows which ones froze.
      const p1 = { rank: rankOf(after), score: after, total: 2 };
      await settlesTo(
        "the second score in the object, Redis and over HTTP",
        async () => ({
          object: await fromObject(board, "p1"),
          redis: {
            p1: await fromRedis(board, "p1"),
            rival: await fromRedis(board, "rival"),
          },
          page: await page(board),
          standing: await standing(board, "p1"),
        }),
        {
          object: p1,
          redis: { p1, rival: { rank: 3 - rankOf(after), score: RIVAL, total: 2 } },
          page: { board, periodKey: "all", total: 2, entries: ranking(after) },
          standing: { playerId: "p1", ...p1 },
        },
      );
      // One version on: what the projections' guards compare.
      expect(await record(board, "p1")).toEqual([{ score: after, version: 2 }]);
    },
  );
});
