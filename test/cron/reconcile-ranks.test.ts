import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { type SQL, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { afterAll, describe, expect, it } from "vitest";
import { reconcileRanks } from "../../src/cron/reconcile-ranks";
import { DEFAULT_PAST_PERIOD_DAYS, pastPeriodExpiryMs, periodKey } from "../../src/domain";
import type { AppBindings } from "../../src/env";
import worker from "../../src/index";
import { openDatabase } from "../../src/stores/postgres/client";
import { playerRankFromPostgres } from "../../src/stores/postgres/ranks";
import { rankKeys } from "../../src/stores/redis/keys";
import { countFromRedis, RedisNotReadyError, rankFromRedis } from "../../src/stores/redis/ranks";
import { createBoard, eventually, query, testEnv } from "../helpers/factories";
import { consumeScores } from "../helpers/score-queue";
import { keyTracker, testRedis } from "../stores/redis/fixtures";

const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const hasRedis = Boolean(testEnv.UPSTASH_REDIS_REST_URL);

/** Score events through the real queue handler, none of them retried. */
async function consume(board: string, scores: Array<[string, number]>, env: AppBindings = testEnv) {
  expect((await consumeScores(board, scores, { env })).retryMessages).toEqual([]);
}

/** A board with `n` players on "all", every record also written to Redis by the consumer. */
async function boardWithPlayers(n: number): Promise<string> {
  const board = await createBoard({ periods: ["all"] });
  written.track(board, "all");
  await consume(
    board,
    Array.from({ length: n }, (_, i) => [`c${i}`, (i * 7) % 11]),
  );
  await eventually(
    async () =>
      (await countFromRedis(testRedis(), prefix, board, "all")) === n ? true : undefined,
    20_000,
    "Redis writes",
  );
  return board;
}

async function isReady(board: string): Promise<boolean> {
  return (await testRedis().exists(rankKeys(prefix, board, "all").ready)) === 1;
}

/** Every player's rank from Redis equals the one from Postgres. */
async function agreesWithPostgres(board: string, players: string[]): Promise<void> {
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    for (const player of players) {
      const pg = await playerRankFromPostgres(handle.db, board, "all", player);
      const rd = await rankFromRedis(testRedis(), prefix, board, "all", player);
      expect(rd?.rank, player).toBe(pg?.rank);
      expect(rd?.total, player).toBe(pg?.total);
    }
  } finally {
    await handle.close();
  }
}

async function fireCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }),
    testEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** Fires the every-minute cron until `done` (other test files' boards may be due as well). */
async function cronUntil(done: () => Promise<boolean>, what: string): Promise<void> {
  await eventually(
    async () => {
      await fireCron();
      return (await done()) ? true : undefined;
    },
    30_000,
    what,
  );
}

async function resyncRequests(board: string): Promise<number> {
  const rows = await query<{ n: string }>(
    sql`select count(*) as n from rank_resync where board_id = ${board}`,
  );
  return Number(rows[0]?.n);
}

describe.skipIf(!hasRedis)("rank reconciliation cron (needs Redis: set REDIS_URL)", () => {
  afterAll(() => written.clear(testRedis()));

  it("loads current board-periods Redis does not hold whole, and its ranks then agree with Postgres", async () => {
    const board = await boardWithPlayers(30);
    expect(await isReady(board)).toBe(false);
    await expect(rankFromRedis(testRedis(), prefix, board, "all", "c1")).rejects.toThrow(
      RedisNotReadyError,
    );
    // Other test files' boards are due too; a run loads all it can within its budget.
    await cronUntil(() => isReady(board), "the cron to load the board");
    await agreesWithPostgres(
      board,
      Array.from({ length: 30 }, (_, i) => `c${i}`),
    );
  });

  it("starts no load after its time budget, but always one", async () => {
    // Two board-periods due (at least: other files' boards may be too).
    await boardWithPlayers(3);
    await boardWithPlayers(3);
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      const result = await reconcileRanks(handle.db, testRedis(), prefix, new Date(), {
        budgetMs: 0,
      });
      expect(result.due).toBeGreaterThanOrEqual(2);
      expect(result.reloadedCount + result.failedCount).toBe(1);
    } finally {
      await handle.close();
    }
  });

  it("a Redis write the consumer missed is queued for resync and repaired by the next run", async () => {
    const board = await boardWithPlayers(20);
    await cronUntil(() => isReady(board), "the cron to load the board");
    // Upstash is down for this batch: Postgres and the Durable Object move, Redis does not.
    const down = { ...testEnv, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };
    await consume(
      board,
      [
        ["c3", 1_000],
        ["late", 500],
      ],
      down,
    );
    expect(await resyncRequests(board)).toBe(1);
    // Ready, but stale: the old rank of c3, no "late" at all.
    expect((await rankFromRedis(testRedis(), prefix, board, "all", "c3"))?.rank).not.toBe(1);
    expect(await rankFromRedis(testRedis(), prefix, board, "all", "late")).toBeNull();

    await cronUntil(
      async () => (await resyncRequests(board)) === 0,
      "the cron to resync the board",
    );
    expect((await rankFromRedis(testRedis(), prefix, board, "all", "c3"))?.rank).toBe(1);
    await agreesWithPostgres(board, ["c3", "late", "c0", "c19"]);
  });

  it("a resync request recorded while its board-period reloads outlives that reload", async () => {
    const board = await boardWithPlayers(3);
    await query(sql`insert into rank_resync (board_id, period_key, requested_at)
                    values (${board}, 'all', now() - interval '1 minute')`);
    const requestedAt = async () =>
      (
        await query<{ at: string }>(
          sql`select (extract(epoch from requested_at) * 1000)::bigint::text as at
              from rank_resync where board_id = ${board} and period_key = 'all'`,
        )
      ).map((r) => Number(r.at));
    const [before] = await requestedAt();
    const dialect = new PgDialect();
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    let newer: number | undefined;
    // The reload's first read of the board's scores (after it took its start time) is preceded by
    // what a consumer does when its Redis write fails: the request is recorded again, later.
    const db = new Proxy(handle.db, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== "execute") return typeof value === "function" ? value.bind(target) : value;
        return async (statement: SQL) => {
          const q = dialect.sqlToQuery(statement);
          if (newer === undefined && /from scores/.test(q.sql) && q.params.includes(board)) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            const rows = await target.execute<{ at: string }>(sql`
              insert into rank_resync (board_id, period_key) values (${board}, 'all')
              on conflict (board_id, period_key) do update set requested_at = excluded.requested_at
              returning (extract(epoch from requested_at) * 1000)::bigint::text as at`);
            newer = Number(rows.rows[0]?.at);
          }
          return target.execute(statement);
        };
      },
    });
    try {
      const result = await reconcileRanks(db, testRedis(), prefix, new Date());
      expect(result.reloaded.filter((r) => r.boardId === board)).toEqual([
        { boardId: board, periodKey: "all", reason: "resync", rows: 3, moved: 3 },
      ]);
    } finally {
      await handle.close();
    }
    expect(newer).toBeGreaterThan(before ?? Number.POSITIVE_INFINITY);
    // The reload answered the request made before it, not the one made during it.
    expect(await requestedAt()).toEqual([newer]);
    expect(await isReady(board)).toBe(true);

    // The next run reloads again and clears it.
    const again = openDatabase(testEnv, { maxConnections: 1 });
    try {
      await reconcileRanks(again.db, testRedis(), prefix, new Date());
    } finally {
      await again.close();
    }
    expect(await requestedAt()).toEqual([]);
  });

  it("a daily period's keys expire REDIS_PAST_PERIOD_DAYS after the day ends, when projected and when loaded; all-time keys never", async () => {
    const board = await createBoard({ periods: ["all", "daily"], timeZone: "UTC" });
    const scoredAt = new Date(Date.now() - 30_000); // what consumeScores() sends as occurredAt
    const day = periodKey("daily", scoredAt, "UTC", "monday");
    written.track(board, "all");
    written.track(board, day);
    const expiresAt =
      pastPeriodExpiryMs({ timeZone: "UTC", weekStart: "monday" }, day, DEFAULT_PAST_PERIOD_DAYS) ??
      0;
    const daily = rankKeys(prefix, board, day);
    const allTime = rankKeys(prefix, board, "all");
    // Within a minute (the test's own round trips; workerd's clock only moves on I/O).
    const near = (ttl: number) => Math.abs(ttl - (expiresAt - Date.now())) < 60_000;

    await consume(board, [["e1", 5]]);
    await eventually(
      async () => ((await testRedis().pttl(daily.z)) > 0 ? true : undefined),
      20_000,
      "the projection to reach Redis",
    );
    expect(near(await testRedis().pttl(daily.z))).toBe(true);
    expect(near(await testRedis().pttl(daily.m))).toBe(true);
    expect(await testRedis().pttl(allTime.z)).toBe(-1);

    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      // A run at the time of the score: that day is current, so it is loaded.
      await reconcileRanks(handle.db, testRedis(), prefix, scoredAt);
    } finally {
      await handle.close();
    }
    expect(await isReady(board)).toBe(true);
    for (const key of [daily.z, daily.m, daily.ready])
      expect(near(await testRedis().pttl(key)), key).toBe(true);
    for (const key of [allTime.z, allTime.m, allTime.ready])
      expect(await testRedis().pttl(key), key).toBe(-1);
    expect((await rankFromRedis(testRedis(), prefix, board, day, "e1"))?.rank).toBe(1);
  });

  it("drops resync requests for periods Redis no longer keeps, and for boards that are gone, without loading them", async () => {
    const board = await createBoard({ periods: ["all", "daily"], timeZone: "UTC" });
    const longAgo = periodKey("daily", new Date(Date.now() - 30 * 86_400_000), "UTC", "monday");
    const gone = `gone-${board}`;
    written.track(board, longAgo);
    await query(
      sql`insert into rank_resync (board_id, period_key) values (${board}, ${longAgo}), (${gone}, 'all')`,
    );
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      const result = await reconcileRanks(handle.db, testRedis(), prefix, new Date(), {
        pastDays: 7,
      });
      expect(result.droppedCount).toBeGreaterThanOrEqual(2);
    } finally {
      await handle.close();
    }
    expect(await resyncRequests(board)).toBe(0);
    expect(await resyncRequests(gone)).toBe(0);
    const old = rankKeys(prefix, board, longAgo);
    expect(await testRedis().exists(old.z, old.m, old.ready)).toBe(0);
  });
});
