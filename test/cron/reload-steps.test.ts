import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { reconcileRanks } from "../../src/cron/reconcile-ranks";
import { periodKey, periodRange } from "../../src/domain";
import { reloadBoardPeriod, reloadStep } from "../../src/services/projection/rank-reload";
import { forgetBoards } from "../../src/stores/cache/boards";
import { leaderboardStub, objectConfig } from "../../src/stores/objects/leaderboard";
import { openDatabase } from "../../src/stores/postgres/client";
import { rankKeys } from "../../src/stores/redis/keys";
import { pageFromRedis } from "../../src/stores/redis/ranks";
import { api, createBoard, query, testEnv } from "../helpers/factories";
import { consumeScores } from "../helpers/score-queue";
import { watchUpstash } from "../helpers/upstash-watch";
import { keyTracker, testRedis } from "../stores/redis/fixtures";

const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const hasRedis = Boolean(testEnv.UPSTASH_REDIS_REST_URL);

/**
 * A board on "all" with `n` players p00001..p0n (score i) written straight to Postgres, last
 * updated 10 minutes ago (so a reload's catch-up has nothing of theirs to re-apply).
 */
async function seededBoard(n: number): Promise<string> {
  const board = await createBoard({ periods: ["all"] });
  written.track(board, "all");
  await query(sql`
    insert into scores (board_id, period_key, player_id, score, sort_score, reached_at, version,
      updated_at)
    select ${board}, 'all', 'p' || lpad(i::text, 5, '0'), i, -i, now() - interval '1 hour', 1,
      now() - interval '10 minutes'
    from generate_series(1, ${n}) i`);
  return board;
}

async function withDb<T>(fn: (db: ReturnType<typeof openDatabase>["db"]) => Promise<T>) {
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

/** Redis' whole order (and size) equals Postgres' for the board-period. */
async function sameOrderAsPostgres(board: string, period = "all"): Promise<void> {
  const pg = await query<{ player_id: string }>(sql`
    select player_id from scores where board_id = ${board} and period_key = ${period}
    order by sort_score, reached_at, player_id`);
  const redis: string[] = [];
  for (let offset = 0; ; offset += 1_000) {
    const page = await pageFromRedis(testRedis(), prefix, board, period, { offset, limit: 1_000 });
    redis.push(...page.entries.map((e) => e.playerId));
    expect(page.total).toBe(pg.length);
    if (page.entries.length < 1_000) break;
  }
  expect(redis).toEqual(pg.map((r) => r.player_id));
  const keys = rankKeys(prefix, board, period);
  expect(await testRedis().hlen(keys.m)).toBe(pg.length);
}

/** Loads every script once (the local bridge answers a script's first EVALSHA with NOSCRIPT). */
async function warmScripts(): Promise<void> {
  const board = await seededBoard(2);
  await withDb((db) => reloadBoardPeriod(db, testRedis(), prefix, board, "all", null));
  await consumeScores(board, [["warm", 1]]);
}

describe.skipIf(!hasRedis)("Redis reloads in steps, under a lease (needs REDIS_URL)", () => {
  afterAll(() => written.clear(testRedis()));

  it("two overlapping reconcile runs perform one reload of a board-period", async () => {
    await warmScripts();
    const board = await seededBoard(3_000);
    const watch = await watchUpstash(board);
    try {
      const runs = await Promise.all([
        withDb((db) => reconcileRanks(db, testRedis(), prefix, new Date())),
        withDb((db) => reconcileRanks(db, testRedis(), prefix, new Date())),
      ]);
      const reloads = runs.flatMap((r) => r.reloaded.filter((x) => x.boardId === board));
      expect(reloads.length).toBeLessThanOrEqual(1);
      // One reload's worth of Upstash scripts: 3 build calls (1,000 rows each) and 1 swap.
      expect((await watch.read()).scripts).toBe(4);
    } finally {
      await watch.stop();
    }
    await sameOrderAsPostgres(board);
    expect(await query(sql`select 1 from rank_reloads where board_id = ${board}`)).toHaveLength(0);
  });

  it("a reload of N rows in chunks of N/3 completes over 3 runs, with writes between runs, and its ranks are exact", async () => {
    const board = await seededBoard(3_000);
    const budget = { rows: 1_000, ms: 60_000 };
    const step = (holder: string) =>
      withDb((db) => reloadStep(db, testRedis(), prefix, board, "all", null, budget, holder));
    const ready = () => testRedis().exists(rankKeys(prefix, board, "all").ready);

    const first = await step("run-1");
    expect(first).toMatchObject({ status: "progress", rows: 1_000, loaded: 1_000 });
    expect(await ready()).toBe(0);
    // A new player ahead of the cursor, and an unread one moving ahead of it.
    await consumeScores(board, [
      ["top", 1_000_000],
      ["p00010", 900_000],
    ]);

    const second = await step("run-2");
    expect(second).toMatchObject({ status: "progress", rows: 1_000, loaded: 2_000 });
    expect(await ready()).toBe(0);
    // A player already loaded falls behind the cursor; another changes after its chunk was read.
    await consumeScores(board, [["p02001", 2_600]]);
    await query(sql`update scores set score = 5, sort_score = -5, version = version + 1,
      updated_at = now() where board_id = ${board} and player_id = 'p02999'`);

    const third = await step("run-3");
    expect(third).toMatchObject({ status: "done", rows: 1_000 });
    expect(third.moved).toBeGreaterThanOrEqual(4);
    expect(await ready()).toBe(1);
    await sameOrderAsPostgres(board);
  });

  it("a run whose lease another run holds does nothing; a reload whose holder died is resumed from its cursor", async () => {
    const board = await seededBoard(30);
    const budget = { rows: 10, ms: 60_000 };
    const step = (holder: string) =>
      withDb((db) => reloadStep(db, testRedis(), prefix, board, "all", null, budget, holder));
    expect(await step("a")).toMatchObject({ status: "progress", loaded: 10 });
    // "b" dies holding the lease after its chunk.
    await query(sql`update rank_reloads set holder = 'b', lease_until = now() + interval '1 hour'
      where board_id = ${board}`);
    expect(await step("c")).toMatchObject({ status: "busy", rows: 0 });
    await query(sql`update rank_reloads set lease_until = now() - interval '1 second'
      where board_id = ${board}`);
    expect(await step("c")).toMatchObject({ status: "progress", rows: 10, loaded: 20 });
    expect(await step("d")).toMatchObject({ status: "done", rows: 10 });
    await sameOrderAsPostgres(board);
  });

  it("a failed projection of a few records is repaired by re-applying those records, not by a reload", async () => {
    await warmScripts();
    const board = await seededBoard(50);
    await withDb((db) => reloadBoardPeriod(db, testRedis(), prefix, board, "all", null));
    const down = { ...testEnv, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };
    await consumeScores(
      board,
      [
        ["p00001", 500],
        ["new", 70],
      ],
      { env: down },
    );
    const [request] = await query<{ since: string | null }>(
      sql`select since::text from rank_resync where board_id = ${board}`,
    );
    expect(request?.since).not.toBeNull();

    const watch = await watchUpstash(board);
    try {
      const result = await withDb((db) => reconcileRanks(db, testRedis(), prefix, new Date()));
      expect(result.reloaded.filter((r) => r.boardId === board)).toEqual([]);
      // One apply call with the two records: no build, no swap.
      expect((await watch.read()).scripts).toBe(1);
    } finally {
      await watch.stop();
    }
    expect(await query(sql`select 1 from rank_resync where board_id = ${board}`)).toHaveLength(0);
    await sameOrderAsPostgres(board);
  });

  it("after the cron runs before rollover, the next period's keys are ready and a read at the new period answers from Redis", async () => {
    const board = await createBoard({ periods: ["daily"], timeZone: "UTC" });
    await query(sql`update boards set top_size = 1 where id = ${board}`);
    forgetBoards();
    const scoredAt = Date.now() - 30_000; // what consumeScores() sends as occurredAt
    const day = periodKey("daily", new Date(scoredAt), "UTC", "monday");
    written.track(board, day);
    const start = periodRange("daily", day, "UTC", "monday")?.start.getTime() ?? 0;
    const [definition] = await query<{
      id: string;
      sort_order: "asc" | "desc";
      top_size: number;
      time_zone: string;
      week_start: "monday" | "sunday";
    }>(sql`select id, sort_order, top_size, time_zone, week_start from boards where id = ${board}`);
    if (!definition) throw new Error("no board");

    // The run two minutes before the day starts prepares it (the previous day is current then).
    const result = await withDb((db) =>
      reconcileRanks(db, testRedis(), prefix, new Date(start - 120_000), {
        prepareObject: async (b, key) => {
          await leaderboardStub(testEnv, b.id, key).rebuild(objectConfig(testEnv, b, key));
        },
      }),
    );
    expect(result.preparedCount).toBeGreaterThanOrEqual(1);
    const keys = rankKeys(prefix, board, day);
    expect(await testRedis().exists(keys.ready)).toBe(1);
    expect(await testRedis().exists(keys.z, keys.m)).toBe(0);
    const stats = await leaderboardStub(testEnv, board, day).stats();
    expect(stats.lastRebuildAt).not.toBeNull();
    expect(stats.complete).toBe(true);

    // The first events of the day land on the ready keys; no cron runs in between.
    await consumeScores(
      board,
      [
        ["d1", 30],
        ["d2", 20],
        ["d3", 10],
      ],
      { occurredAt: scoredAt },
    );
    const res = await api(`/v1/leaderboards/${board}/players/d3?period=daily&at=${day}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-rank-source")).toBe("redis");
    expect(await res.json()).toMatchObject({ playerId: "d3", rank: 3 });
    await sameOrderAsPostgres(board, day);
  });
});
