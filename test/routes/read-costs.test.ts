import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { ALL_TIME_KEY } from "../../src/domain/periods";
import { counters } from "../../src/lib/metrics";
import { reloadBoardPeriod } from "../../src/services/projection/rank-reload";
import { forgetBoards } from "../../src/stores/cache/boards";
import { leaderboardStub } from "../../src/stores/objects/leaderboard";
import { openDatabase } from "../../src/stores/postgres/client";
import { openRedis } from "../../src/stores/redis/client";
import { countFromRedis } from "../../src/stores/redis/ranks";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  query,
  testEnv,
} from "../helpers/factories";
import { watchUpstash } from "../helpers/upstash-watch";

const hasRedis = Boolean((env as typeof testEnv).UPSTASH_REDIS_REST_URL);
const PLAYERS = 60;
const TOP = 5;

/**
 * What each read type costs the shared parts: calls to the board's Durable Object (the one hot
 * object every PoP shares) and round trips to Upstash. A board of 60 players ranked rc1..rc60 (score
 * 1000 - i), a top-N of 5: players past rank 10 (twice the top-N) never reach the object.
 */
describe.skipIf(!hasRedis)("read costs per request type (needs REDIS_URL)", () => {
  let board = "";
  const objectReads = async () =>
    (await leaderboardStub(testEnv, board, ALL_TIME_KEY).stats()).reads;

  beforeAll(async () => {
    board = await createBoard({ sortOrder: "desc" });
    await query(sql`update boards set top_size = ${TOP} where id = ${board}`);
    forgetBoards();
    const at = new Date(Date.now() - 60_000).toISOString();
    const events = Array.from({ length: PLAYERS }, (_, i) => ({
      id: eventId(),
      type: "score",
      playerId: `rc${i + 1}`,
      occurredAt: at,
      boardId: board,
      score: 1000 - i,
      displayName: `Player ${i + 1}`,
      // Every third record carries metadata, the rest none: both shapes come back from Redis.
      ...(i % 3 === 0 ? { metadata: { level: i + 1 } } : {}),
    }));
    expect((await postEvents(events)).status).toBe(202);
    const redis = openRedis(testEnv);
    if (!redis) throw new Error("REDIS_URL is set but the worker has no Upstash binding");
    await eventually(async () => {
      const rows = await query<{ n: string }>(
        sql`select count(*) as n from scores where board_id = ${board}`,
      );
      return Number(rows[0]?.n) === PLAYERS ? true : undefined;
    }, 20_000);
    // What the reconciliation cron does for a board-period without a ready marker.
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      await reloadBoardPeriod(handle.db, redis, testEnv.REDIS_KEY_PREFIX, board, "all", null);
    } finally {
      await handle.close();
    }
    expect(await countFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all")).toBe(PLAYERS);
    // Once per script, the local bridge answers its first EVALSHA with NOSCRIPT (Upstash would
    // know it): one read of each kind first, so the counts below are the steady state.
    for (const path of ["players/rc60", "players/rc59/around?n=1", "rank-of?score=1"]) {
      expect((await api(`/v1/leaderboards/${board}/${path}`)).status).toBe(200);
    }
  });

  /**
   * The response, the object's read calls, the Postgres queries and connections (the worker's own
   * counters: tests share its isolate) and the Upstash traffic naming the board, for one read.
   */
  async function costOf(path: string, init?: RequestInit) {
    const watch = await watchUpstash(board);
    const before = await objectReads();
    const queries = counters.postgresQueries + counters.postgresConnections;
    try {
      const res = await api(path, init);
      const body = (await res.json()) as Record<string, unknown>;
      expect(res.status, JSON.stringify(body)).toBe(200);
      return {
        body,
        objectReads: (await objectReads()) - before,
        postgres: counters.postgresQueries + counters.postgresConnections - queries,
        upstash: await watch.read(),
      };
    } finally {
      await watch.stop();
    }
  }

  it("a player's rank beyond twice the top-N: one Upstash round trip, one script, no object call", async () => {
    const cost = await costOf(`/v1/leaderboards/${board}/players/rc42`);
    expect(cost.body).toMatchObject({
      playerId: "rc42",
      rank: 42,
      total: PLAYERS,
      score: 959,
      displayName: "Player 42",
    });
    expect(cost.objectReads).toBe(0);
    expect(cost.postgres).toBe(0);
    expect(cost.upstash).toMatchObject({ requests: 1, commands: 1, scripts: 1 });
    expect(cost.upstash.scriptsWithoutKeyLocking).toBe(0);
  });

  it("around a player beyond twice the top-N: one round trip, names and metadata from it, no object call or query", async () => {
    const cost = await costOf(`/v1/leaderboards/${board}/players/rc30/around?n=2`);
    const entries = cost.body.entries as Array<{
      rank: number;
      playerId: string;
      displayName?: string;
      metadata?: unknown;
    }>;
    expect(entries.map((e) => [e.rank, e.playerId, e.displayName, e.metadata])).toEqual([
      [28, "rc28", "Player 28", { level: 28 }],
      [29, "rc29", "Player 29", undefined],
      [30, "rc30", "Player 30", undefined],
      [31, "rc31", "Player 31", { level: 31 }],
      [32, "rc32", "Player 32", undefined],
    ]);
    expect(cost.objectReads).toBe(0);
    expect(cost.postgres).toBe(0);
    expect(cost.upstash).toMatchObject({ requests: 1, commands: 1, scripts: 1 });
  });

  it("friends: every player in one script call, near the top or not; no object call", async () => {
    const far = await costOf(`/v1/leaderboards/${board}/players`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ playerIds: ["rc20", "rc33", "rc47", "nobody"] }),
    });
    const ranks = (
      far.body.entries as Array<{ rank: number; playerId: string; displayName?: string }>
    ).map((e) => [e.rank, e.playerId, e.displayName]);
    expect(ranks).toEqual([
      [20, "rc20", "Player 20"],
      [33, "rc33", "Player 33"],
      [47, "rc47", "Player 47"],
    ]);
    expect(far.objectReads).toBe(0);
    expect(far.postgres).toBe(0);
    expect(far.upstash).toMatchObject({ requests: 1, commands: 1, scripts: 1 });

    const mixed = await costOf(`/v1/leaderboards/${board}/players`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ playerIds: ["rc2", "rc8", "rc50"] }),
    });
    expect(
      (mixed.body.entries as Array<{ rank: number; playerId: string }>).map((e) => e.playerId),
    ).toEqual(["rc2", "rc8", "rc50"]);
    expect(mixed.objectReads).toBe(0);
    expect(mixed.postgres).toBe(0);
    expect(mixed.upstash.requests).toBe(1);
  });

  it("the rank a score would get, past twice the top-N: one round trip, no object call", async () => {
    const cost = await costOf(`/v1/leaderboards/${board}/rank-of?score=944`);
    // Scores run 1000 (rc1) down to 941 (rc60): 57 players have 944 or more.
    expect(cost.body).toMatchObject({ rank: 58, total: PLAYERS });
    expect(cost.objectReads).toBe(0);
    expect(cost.upstash).toMatchObject({ requests: 1, commands: 1 });
  });

  it("near the top too: Redis answers rank, around-me and rank-for-score, no object call", async () => {
    const rank = await costOf(`/v1/leaderboards/${board}/players/rc3`);
    expect(rank.body).toMatchObject({ playerId: "rc3", rank: 3, displayName: "Player 3" });
    const around = await costOf(`/v1/leaderboards/${board}/players/rc1/around?n=1`);
    expect((around.body.entries as Array<{ playerId: string }>).map((e) => e.playerId)).toEqual([
      "rc1",
      "rc2",
    ]);
    const forScore = await costOf(`/v1/leaderboards/${board}/rank-of?score=999`);
    expect(forScore.body).toMatchObject({ rank: 3 });
    for (const cost of [rank, around, forScore]) {
      expect(cost.objectReads).toBe(0);
      expect(cost.postgres).toBe(0);
      expect(cost.upstash.requests).toBe(1);
    }
  });

  it("a player Redis does not know is asked of the object (a first score whose Redis write is in flight)", async () => {
    const before = await objectReads();
    const res = await api(`/v1/leaderboards/${board}/players/p-new`);
    expect(res.status).toBe(404);
    expect((await objectReads()) - before).toBe(1);
  });

  it("the object's own counts are readable by an operator, and match what the test saw", async () => {
    const before = await objectReads();
    const res = await api(`/v1/admin/leaderboards/${board}/object`, { headers: ADMIN });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ board, periodKey: "all", held: TOP, total: PLAYERS, sockets: 0 });
    // The route's own stats() call is not a read.
    expect(stats.reads).toBe(before);
  });

  it("admin reads stay off Upstash", async () => {
    const watch = await watchUpstash(board);
    try {
      expect((await api(`/v1/boards/${board}`, { headers: ADMIN })).status).toBe(200);
      expect((await watch.read()).requests).toBe(0);
    } finally {
      await watch.stop();
    }
  });
});
