import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { reloadBoardPeriod } from "../../src/services/projection/rank-reload";
import { forgetBoards } from "../../src/stores/cache/boards";
import { leaderboardStub } from "../../src/stores/objects/leaderboard";
import { openDatabase } from "../../src/stores/postgres/client";
import { openRedis } from "../../src/stores/redis/client";
import { countFromRedis, rankFromRedis } from "../../src/stores/redis/ranks";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  type IngestReply,
  postEvents,
  query,
  scoreRows,
  testEnv,
  uniqueId,
} from "../helpers/factories";

const hasRedis = Boolean((env as typeof testEnv).UPSTASH_REDIS_REST_URL);
const TOP = 3;

type Json = Record<string, unknown>;
type Page = { entries: Array<{ playerId: string; rank: number; score: number }>; total: number };

const score = (boardId: string, playerId: string, value: number) => ({
  id: eventId(),
  type: "score",
  playerId,
  displayName: `N ${playerId.slice(-3)}`,
  occurredAt: new Date(Date.now() - 1_000).toISOString(),
  boardId,
  score: value,
});

async function call(method: string, path: string, body?: unknown) {
  const res = await api(path, {
    method,
    headers: ADMIN,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return { status: res.status, body: (await res.json()) as Json };
}

const page = async (board: string, period = "") =>
  (await (await api(`/v1/leaderboards/${board}?limit=10${period}`)).json()) as Page;

/** Players p1..pn of this file's own (ids unique per test), score 1000 - i, on a board. */
async function seed(board: string, players: string[], periods: number) {
  const reply = (await (
    await postEvents(players.map((p, i) => score(board, p, 1000 - i)))
  ).json()) as IngestReply;
  expect(reply.accepted).toBe(players.length);
  await eventually(
    async () => ((await scoreRows(board)).length === players.length * periods ? true : undefined),
    20_000,
    "seeded records",
  );
}

/** What the reconciliation cron does for a board-period without a ready marker. */
async function loadRedis(board: string, periodKey: string) {
  const redis = openRedis(testEnv);
  if (!redis) throw new Error("REDIS_URL is set but the worker has no Upstash binding");
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    await reloadBoardPeriod(handle.db, redis, testEnv.REDIS_KEY_PREFIX, board, periodKey, null);
  } finally {
    await handle.close();
  }
  return redis;
}

const players = (n: number) => {
  const base = uniqueId("mod");
  return Array.from({ length: n }, (_, i) => `${base}-p${i + 1}`);
};

describe.skipIf(!hasRedis)("moderation (needs REDIS_URL)", () => {
  it("removes a player from one period: Postgres, the object (refilled), Redis, the cached page, totals", async () => {
    const board = await createBoard({ periods: ["all", "daily"], topSize: TOP });
    const ids = players(6);
    const [first, second] = ids as [string, string];
    await seed(board, ids, 2);
    const daily = (await scoreRows(board)).find((r) => r.period_key !== "all")?.period_key ?? "";
    const redis = await loadRedis(board, "all");
    // Cached before the removal: the purge must reach it.
    expect((await page(board)).entries[0]?.playerId).toBe(first);

    const removal = await call(
      "DELETE",
      `/v1/admin/boards/${board}/players/${first}?period=all&reason=cheating`,
    );
    expect(removal.status).toBe(200);
    expect(removal.body).toMatchObject({
      playerId: first,
      boardId: board,
      periodKey: "all",
      removed: 1,
      boardPeriods: [{ boardId: board, periodKey: "all" }],
      auditId: expect.any(String),
    });

    const started = Date.now();
    const after = await eventually(
      async () => {
        const p = await page(board);
        return p.entries.some((e) => e.playerId === first) ? undefined : p;
      },
      5_000,
      "the cached page without the removed player",
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(after.total).toBe(5);
    expect(after.entries[0]).toMatchObject({ playerId: second, rank: 1 });
    // The object refills its top-N from Postgres: the page is whole again.
    await eventually(
      async () => {
        const p = await page(board);
        return p.entries.length === 5 ? true : undefined;
      },
      5_000,
      "a refilled page",
    );
    const object = leaderboardStub(testEnv, board, "all");
    expect(await object.rankOf(first)).toBeNull();
    expect((await object.stats()).total).toBe(5);
    expect(await eventually(async () => ((await object.stats()).complete ? true : undefined))).toBe(
      true,
    );
    expect((await object.page({ limit: TOP })).entries.map((e) => e.playerId)).toEqual(
      ids.slice(1, 4),
    );

    expect(await rankFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all", first)).toBeNull();
    expect(await countFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all")).toBe(5);
    expect((await api(`/v1/leaderboards/${board}/players/${first}`)).status).toBe(404);
    expect((await api(`/v1/leaderboards/${board}/players/${first}/around`)).status).toBe(404);
    const rankOfSecond = (await (
      await api(`/v1/leaderboards/${board}/players/${second}`)
    ).json()) as Json;
    expect(rankOfSecond).toMatchObject({ rank: 1, total: 5 });

    // The other period keeps the record.
    const dailyPage = await page(board, `&period=daily`);
    expect(dailyPage.entries[0]?.playerId).toBe(first);
    expect(dailyPage.total).toBe(6);
    expect(
      (await scoreRows(board)).filter((r) => r.player_id === first).map((r) => r.period_key),
    ).toEqual([daily]);

    // A later event creates the record again, past the removed version: every store takes it.
    expect((await postEvents([score(board, first, 5)])).status).toBe(202);
    await eventually(
      async () => {
        const p = await page(board);
        const mine = p.entries.find((e) => e.playerId === first);
        return mine?.score === 5 && p.total === 6 ? true : undefined;
      },
      10_000,
      "the record created again",
    );
    const [row] = await query<{ version: string }>(
      sql`select version from scores where board_id = ${board} and period_key = 'all' and player_id = ${first}`,
    );
    expect(Number(row?.version)).toBe(2);
    expect(await rankFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all", first)).toMatchObject(
      { rank: 6 },
    );
  });

  it("removes a player from every period of a board, and audits it", async () => {
    const board = await createBoard({ periods: ["all", "daily"] });
    const ids = players(3);
    const target = ids[1] as string;
    await seed(board, ids, 2);
    const removal = await call("DELETE", `/v1/admin/boards/${board}/players/${target}`);
    expect(removal.status).toBe(200);
    expect(removal.body).toMatchObject({ removed: 2, periodKey: null });
    expect((await scoreRows(board)).some((r) => r.player_id === target)).toBe(false);
    for (const period of ["", "&period=daily"]) {
      const p = await page(board, period);
      expect(p.entries.map((e) => e.playerId)).toEqual([ids[0], ids[2]]);
      expect(p.total).toBe(2);
    }
    const again = await call("DELETE", `/v1/admin/boards/${board}/players/${target}`);
    expect(again.body).toMatchObject({ removed: 0 });

    const audit = await call("GET", `/v1/admin/audit?player=${target}`);
    expect(audit.status).toBe(200);
    expect(audit.body.entries).toEqual([
      expect.objectContaining({ action: "remove", records: 0, actor: "admin", boardId: board }),
      expect.objectContaining({
        action: "remove",
        records: 2,
        actor: "admin",
        playerId: target,
        boardId: board,
        periodKey: null,
        reason: null,
        at: expect.any(String),
      }),
    ]);
  });

  it("refuses bad input with 4xx JSON", async () => {
    const board = await createBoard({ periods: ["all", "weekly"] });
    const cases: Array<[string, string, unknown, number]> = [
      ["DELETE", `/v1/admin/boards/${board}/players/a%20b`, undefined, 400],
      ["DELETE", `/v1/admin/boards/${board}/players/x?period=2026-13`, undefined, 400],
      ["DELETE", `/v1/admin/boards/${board}/players/x?period=2026-11-02`, undefined, 400],
      ["DELETE", `/v1/admin/boards/${uniqueId("none")}/players/x`, undefined, 404],
      ["POST", "/v1/admin/players/x/ban", {}, 400],
      ["POST", "/v1/admin/players/x/ban", { reason: "  " }, 400],
      ["DELETE", `/v1/admin/players/${uniqueId("never")}/ban`, undefined, 404],
      ["GET", "/v1/admin/audit?limit=0", undefined, 400],
      ["GET", "/v1/admin/audit?cursor=junk", undefined, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await call(method, path, body);
      expect([method, path, res.status]).toEqual([method, path, status]);
      expect(res.body.error).toMatchObject({ code: expect.any(String) });
    }
    expect(
      (await call("DELETE", `/v1/admin/boards/${board}/players/x?period=2026-W47`)).status,
    ).toBe(200);
  });

  it("bans a player from every board, rejects their new events per item, and an unban restores them", async () => {
    const boardA = await createBoard({ periods: ["all"], topSize: TOP });
    const boardB = await createBoard({ periods: ["all", "weekly"] });
    const ids = players(5);
    const cheat = ids[0] as string;
    await seed(boardA, ids, 1);
    await seed(boardB, ids, 2);
    const redis = await loadRedis(boardA, "all");
    await page(boardA);

    const banned = await call("POST", `/v1/admin/players/${cheat}/ban`, { reason: "aimbot" });
    expect(banned.status).toBe(200);
    expect(banned.body).toMatchObject({
      playerId: cheat,
      reason: "aimbot",
      bannedBy: "admin",
      alreadyBanned: false,
      hidden: 3,
    });
    for (const [board, period] of [
      [boardA, ""],
      [boardB, ""],
      [boardB, "&period=weekly"],
    ] as const) {
      const p = await eventually(
        async () => {
          const found = await page(board, period);
          return found.entries.some((e) => e.playerId === cheat) ? undefined : found;
        },
        5_000,
        "pages without the banned player",
      );
      expect(p.total).toBe(4);
      expect(
        (await api(`/v1/leaderboards/${board}/players/${cheat}${period ? "?period=weekly" : ""}`))
          .status,
      ).toBe(404);
    }
    expect(await rankFromRedis(redis, testEnv.REDIS_KEY_PREFIX, boardA, "all", cheat)).toBeNull();
    expect((await leaderboardStub(testEnv, boardA, "all").stats()).total).toBe(4);
    const ranks = (await (await api(`/v1/players/${cheat}/ranks`)).json()) as { ranks?: unknown[] };
    expect(ranks.ranks ?? []).toEqual([]);

    // Their events are refused per item; the others' in the same request are accepted.
    const res = await postEvents([
      score(boardA, ids[1] as string, 2000),
      score(boardA, cheat, 5000),
    ]);
    const reply = (await res.json()) as IngestReply;
    expect(res.status).toBe(202);
    expect(reply.accepted).toBe(1);
    expect(reply.rejected.map((r) => [r.index, r.error.code])).toEqual([[1, "PLAYER_BANNED"]]);
    await eventually(async () =>
      (await page(boardA)).entries[0]?.score === 2000 ? true : undefined,
    );

    const again = await call("POST", `/v1/admin/players/${cheat}/ban`, { reason: "second try" });
    expect(again.body).toMatchObject({ alreadyBanned: true, reason: "aimbot", hidden: 0 });

    const lifted = await call("DELETE", `/v1/admin/players/${cheat}/ban?reason=appeal`);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toMatchObject({ playerId: cheat, restored: 3 });
    const back = await page(boardA);
    expect(back.total).toBe(5);
    expect(back.entries.slice(0, 2).map((e) => [e.playerId, e.score])).toEqual([
      [ids[1], 2000],
      [cheat, 1000],
    ]);
    expect((await page(boardB, "&period=weekly")).entries[0]).toMatchObject({
      playerId: cheat,
      rank: 1,
    });
    expect(
      await rankFromRedis(redis, testEnv.REDIS_KEY_PREFIX, boardA, "all", cheat),
    ).toMatchObject({ rank: 2 });
    expect((await leaderboardStub(testEnv, boardA, "all").stats()).total).toBe(5);
    expect(
      ((await (await postEvents([score(boardA, cheat, 3000)])).json()) as IngestReply).accepted,
    ).toBe(1);
    await eventually(async () =>
      (await page(boardA)).entries[0]?.playerId === cheat ? true : undefined,
    );

    const audit = await call("GET", `/v1/admin/audit?player=${cheat}&limit=2`);
    expect((audit.body.entries as Json[]).map((e) => [e.action, e.reason, e.records])).toEqual([
      ["unban", "appeal", 3],
      ["ban", "second try", 0],
    ]);
    const next = await call(
      "GET",
      `/v1/admin/audit?player=${cheat}&limit=2&cursor=${audit.body.nextCursor}`,
    );
    expect((next.body.entries as Json[]).map((e) => [e.action, e.reason, e.records])).toEqual([
      ["ban", "aimbot", 3],
    ]);
    expect(next.body.nextCursor).toBeNull();
    forgetBoards();
  });

  it("a ban wins over events in flight: queued before it, or written while it runs", async () => {
    const board = await createBoard({ periods: ["all"] });
    const ids = players(3);
    await seed(board, ids.slice(0, 1), 1);
    const redis = await loadRedis(board, "all");

    // Accepted before the ban, consumed after it: stored, but it moves no score.
    const queued = ids[1] as string;
    const event = score(board, queued, 900);
    expect(((await (await postEvents([event])).json()) as IngestReply).accepted).toBe(1);
    expect((await call("POST", `/v1/admin/players/${queued}/ban`, { reason: "race" })).status).toBe(
      200,
    );
    await eventually(
      async () => {
        const rows = await query<{ n: string }>(
          sql`select count(*) as n from events where event_id = ${event.id}`,
        );
        return Number(rows[0]?.n) === 1 ? true : undefined;
      },
      15_000,
      "the queued event stored",
    );

    // A batch written at the same time as the ban, however the two interleave.
    const racing = ids[2] as string;
    const batch = createMessageBatch("edgeboard-score-events", [
      {
        id: uniqueId("msg"),
        timestamp: new Date(),
        attempts: 1,
        body: {
          kind: "events",
          events: [
            {
              ...score(board, racing, 950),
              occurredAt: Date.now() - 1_000,
              receivedAt: Date.now(),
            },
          ],
        },
      },
    ]);
    const ctx = createExecutionContext();
    const [, ban] = await Promise.all([
      worker.queue(batch, testEnv, ctx),
      call("POST", `/v1/admin/players/${racing}/ban`, { reason: "race" }),
    ]);
    expect(ban.status).toBe(200);
    await getQueueResult(batch, ctx);

    const rows = await query<{ player_id: string }>(
      sql`select player_id from scores where board_id = ${board} order by player_id`,
    );
    expect(rows.map((r) => r.player_id)).toEqual([ids[0]]);
    const object = leaderboardStub(testEnv, board, "all");
    for (const player of [queued, racing]) expect(await object.rankOf(player)).toBeNull();
    expect((await object.stats()).total).toBe(1);
    expect((await page(board)).entries.map((e) => e.playerId)).toEqual([ids[0]]);
    // A projection of a batch committed just before the ban may reach Redis after it: the ban
    // repeats its removal there once such a projection has landed (SETTLE_MS).
    await eventually(
      async () => {
        const gone =
          (await rankFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all", racing)) === null;
        return gone && (await countFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all")) === 1
          ? true
          : undefined;
      },
      25_000,
      "Redis without the banned player",
    );
  }, 60_000);
});
