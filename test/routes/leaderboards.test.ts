import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { LiveMessage } from "../../src/domain/live-protocol";
import { errorStatus } from "../../src/lib/errors";
import { counters } from "../../src/lib/metrics";
import { openRedis } from "../../src/stores/redis/client";
import { countFromRedis } from "../../src/stores/redis/ranks";
import {
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  query,
  testEnv,
} from "../helpers/factories";
import { LiveView } from "../helpers/live-clients";

const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString();

type Page = {
  total: number;
  entries: Array<{ rank: number; playerId: string; score: number; displayName?: string }>;
  nextCursor: string | null;
};

/** Posts scores for players and waits until the last one is visible on the board. */
async function seed(
  board: string,
  scores: Array<[string, number]>,
  options: { names?: boolean } = {},
) {
  for (let i = 0; i < scores.length; i += 100) {
    const chunk = scores.slice(i, i + 100).map(([playerId, score]) => ({
      id: eventId(),
      type: "game_ended",
      playerId,
      occurredAt: iso(60_000),
      boardId: board,
      score,
      ...(options.names ? { displayName: `Name ${playerId}` } : {}),
    }));
    expect((await postEvents(chunk)).status).toBe(202);
  }
  await eventually(
    async () => {
      const rows = await query<{ n: string }>(
        sql`select count(*) as n from scores where board_id = ${board} and period_key = 'all'`,
      );
      return Number(rows[0]?.n) >= new Set(scores.map(([p]) => p)).size ? true : undefined;
    },
    20_000,
    "seeded scores",
  );
}

/**
 * Waits until the board's Durable Object serves `count` rows (seed() waits for Postgres; the
 * object is updated just after the commit), reading around the edge cache so nothing is cached,
 * and, with Redis, until Redis holds them too: the consumer purges the board's pages right after
 * its Redis write, so a page cached from then on stays cached.
 */
async function objectHolds(board: string, count: number) {
  const redis = openRedis(testEnv);
  if (redis) {
    await eventually(
      async () =>
        (await countFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all")) === count
          ? true
          : undefined,
      20_000,
      `${count} players in Redis`,
    );
  }
  await eventually(
    async () => {
      const res = await api(`/v1/leaderboards/${board}?limit=100`, {
        headers: { "x-edgeboard-cache": "bypass" },
      });
      return ((await res.json()) as Page).entries.length === count ? true : undefined;
    },
    20_000,
    `${count} rows on the Durable Object`,
  );
}

describe("GET /v1/leaderboards/:board", () => {
  it("serves the top-N from the Durable Object with ranks, names and total; unknown board is 404", async () => {
    const board = await createBoard();
    await seed(
      board,
      [
        ["ann", 30],
        ["bob", 50],
        ["cid", 40],
      ],
      { names: true },
    );
    const page = await eventually(async () => {
      const res = await api(`/v1/leaderboards/${board}?limit=10`, {
        headers: { "cache-control": "no-cache" },
      });
      const body = (await res.json()) as Page;
      return body.entries.length === 3 ? body : undefined;
    });
    expect(page.total).toBe(3);
    expect(page.entries.map((e) => [e.rank, e.playerId, e.score, e.displayName])).toEqual([
      [1, "bob", 50, "Name bob"],
      [2, "cid", 40, "Name cid"],
      [3, "ann", 30, "Name ann"],
    ]);
    expect((await api("/v1/leaderboards/nope-board")).status).toBe(404);
  });

  it("pages with an opaque cursor: no gaps or repeats, also past the top-N (Redis/Postgres)", async () => {
    const board = await createBoard();
    await query(sql`update boards set top_size = 5 where id = ${board}`);
    const { forgetBoards } = await import("../../src/stores/cache/boards");
    forgetBoards();
    const players: Array<[string, number]> = Array.from({ length: 23 }, (_, i) => [
      `pl${String(i).padStart(2, "0")}`,
      1000 - i * 7,
    ]);
    await seed(board, players);
    const seen: string[] = [];
    let cursor: string | null = null;
    let ranks: number[] = [];
    for (let i = 0; i < 10; i++) {
      const url: string = `/v1/leaderboards/${board}?limit=4${cursor ? `&cursor=${cursor}` : ""}`;
      const body = (await (await api(url)).json()) as Page;
      seen.push(...body.entries.map((e) => e.playerId));
      ranks = [...ranks, ...body.entries.map((e) => e.rank)];
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(players.map(([p]) => p));
    expect(ranks).toEqual(players.map((_, i) => i + 1));
  });

  it("rejects a garbage cursor with 400", async () => {
    const board = await createBoard();
    const res = await api(`/v1/leaderboards/${board}?cursor=not-a-cursor`);
    expect(res.status).toBe(400);
  });

  it("caches per PoP: a hit, then 304 on If-None-Match, with Cache-Control and ETag", async () => {
    const board = await createBoard();
    await seed(board, [["x", 1]]);
    // The consumer purges the board-period's pages once the object and Redis have the score, a
    // moment after Postgres: a page cached before that purge is loaded again once.
    const { first } = await eventually(async () => {
      const first = await api(`/v1/leaderboards/${board}?limit=5`);
      const second = await api(`/v1/leaderboards/${board}?limit=5`);
      return second.headers.get("x-edge-cache") === "HIT" ? { first } : undefined;
    });
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^W\/"/);
    expect(first.headers.get("cache-control")).toMatch(
      /public, max-age=\d+, stale-while-revalidate=\d+/,
    );
    const revalidated = await api(`/v1/leaderboards/${board}?limit=5`, {
      headers: { "if-none-match": etag ?? "" },
    });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe("");
  });

  it("caches each ?limit= apart: a cached ?limit=2 is not served for ?limit=3", async () => {
    const board = await createBoard({ cacheTtlSeconds: 60 });
    await seed(board, [
      ["k1", 40],
      ["k2", 30],
      ["k3", 20],
    ]);
    await objectHolds(board, 3);
    const two = await api(`/v1/leaderboards/${board}?limit=2`);
    expect(two.headers.get("x-edge-cache")).toBe("MISS");
    expect(((await two.json()) as Page).entries.map((e) => e.playerId)).toEqual(["k1", "k2"]);
    const three = await api(`/v1/leaderboards/${board}?limit=3`);
    expect(three.headers.get("x-edge-cache")).toBe("MISS");
    const page = (await three.json()) as Page;
    expect(page.entries.map((e) => [e.rank, e.playerId])).toEqual([
      [1, "k1"],
      [2, "k2"],
      [3, "k3"],
    ]);
    expect(page.nextCursor).toBeNull();
    // Each cached on its own: the second read of either is a hit with its own rows.
    const again = await api(`/v1/leaderboards/${board}?limit=2`);
    expect(again.headers.get("x-edge-cache")).toBe("HIT");
    expect(((await again.json()) as Page).entries).toHaveLength(2);
  });

  it("a page that ends the board exactly has no nextCursor", async () => {
    const board = await createBoard();
    await seed(board, [
      ["e1", 9],
      ["e2", 8],
      ["e3", 7],
      ["e4", 6],
    ]);
    await objectHolds(board, 4);
    const whole = (await (await api(`/v1/leaderboards/${board}?limit=4`)).json()) as Page;
    expect(whole.entries.map((e) => e.rank)).toEqual([1, 2, 3, 4]);
    expect([whole.total, whole.nextCursor]).toEqual([4, null]);
    // Two pages of two: the first points to the second, the second ends the walk.
    const first = (await (await api(`/v1/leaderboards/${board}?limit=2`)).json()) as Page;
    expect(first.entries.map((e) => e.playerId)).toEqual(["e1", "e2"]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await (
      await api(`/v1/leaderboards/${board}?limit=2&cursor=${first.nextCursor}`)
    ).json()) as Page;
    expect(second.entries.map((e) => [e.rank, e.playerId])).toEqual([
      [3, "e3"],
      [4, "e4"],
    ]);
    expect([second.total, second.nextCursor]).toEqual([4, null]);
  });

  it("a burst of 1,000 concurrent cold requests makes one Durable Object read and no database query", async () => {
    // Fresh for longer than the burst can take on a loaded machine: a page going stale mid-burst
    // would add a background refresh the burst did not cause.
    const board = await createBoard({ cacheTtlSeconds: 60 });
    await seed(board, [
      ["a", 3],
      ["b", 2],
    ]);
    const app = createApp();
    // A cold isolate in a PoP where another isolate has already read the board: the board comes
    // from the PoP's Cache API, the page from one Durable Object read.
    const { forgetBoards } = await import("../../src/stores/cache/boards");
    forgetBoards();
    expect((await api(`/v1/boards/${board}`)).status).toBe(200);
    forgetBoards();
    const before = { ...counters };
    const ctx = createExecutionContext();
    // miniflare simulates the Rate Limiting binding with a Durable Object call per request, which
    // would spread the burst over seconds; the platform's answers locally. The burst must arrive at
    // once.
    const allow = { limit: async () => ({ success: true }) };
    const env = { ...testEnv, RATE_LIMIT_READ_IP: allow };
    const responses = await Promise.all(
      Array.from({ length: 1000 }, () =>
        app.request(`/v1/leaderboards/${board}?limit=7`, {}, env, ctx),
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(counters.doReads - before.doReads).toBe(1);
    expect(counters.postgresQueries - before.postgresQueries).toBe(0);
    expect(counters.postgresConnections - before.postgresConnections).toBe(0);
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())));
    expect(bodies.size).toBe(1);
  });

  it("serves a stale page at once and refreshes it in the background, once", async () => {
    const board = await createBoard();
    await query(sql`update boards set cache_ttl_seconds = 1 where id = ${board}`);
    const { forgetBoards } = await import("../../src/stores/cache/boards");
    forgetBoards();
    await seed(board, [["s1", 10]]);
    const url = `/v1/leaderboards/${board}?limit=3`;
    await api(url);
    await seed(board, [["s2", 20]]);
    // The consumer purges the board-period's pages once the object (and Redis) took s2: the next
    // read loads the page with s2 and caches it.
    await eventually(
      async () => {
        const page = (await (await api(url)).json()) as Page;
        return page.entries.length === 2 ? true : undefined;
      },
      20_000,
      "s2 on the cached page",
    );
    await new Promise((r) => setTimeout(r, 1_200));
    const app = createApp();
    const before = counters.doReads;
    const ctx = createExecutionContext();
    const stale = await Promise.all(
      Array.from({ length: 20 }, () => app.request(url, {}, testEnv, ctx)),
    );
    expect(stale.map((r) => r.headers.get("x-edge-cache"))).toEqual(Array(20).fill("STALE"));
    const first = stale[0];
    if (!first) throw new Error("no response");
    expect(((await first.json()) as Page).entries.map((e) => e.playerId)).toEqual(["s2", "s1"]);
    await waitOnExecutionContext(ctx);
    expect(counters.doReads - before).toBe(1);
    const refreshed = await api(url);
    expect(refreshed.headers.get("x-edge-cache")).toBe("HIT");
    expect(((await refreshed.json()) as Page).entries.map((e) => e.playerId)).toEqual(["s2", "s1"]);
  });

  it("reads a past period with at=", async () => {
    const board = await createBoard({ periods: ["daily"] });
    const yesterday = new Date(Date.now() - 86_400_000);
    const key = yesterday.toISOString().slice(0, 10);
    const res = await postEvents([
      {
        id: eventId(),
        type: "score",
        playerId: "old",
        occurredAt: yesterday.toISOString(),
        boardId: board,
        score: 9,
      },
    ]);
    expect(res.status).toBe(202);
    const page = await eventually(async () => {
      const body = (await (
        await api(`/v1/leaderboards/${board}?period=daily&at=${key}`, {})
      ).json()) as Page & { periodKey: string };
      return body.entries.length ? body : undefined;
    });
    expect(page.periodKey).toBe(key);
    expect(page.entries[0]?.playerId).toBe("old");
  });
});

describe("player reads", () => {
  it("rank, around (edges), friends and rank-of agree with the order of scores", async () => {
    const board = await createBoard();
    const players: Array<[string, number]> = Array.from({ length: 12 }, (_, i) => [
      `f${i}`,
      100 + i,
    ]);
    await seed(board, players);
    const rank = (await (await api(`/v1/leaderboards/${board}/players/f0`)).json()) as {
      rank: number;
      total: number;
      percentile: number;
    };
    expect(rank).toMatchObject({ rank: 12, total: 12 });
    expect(rank.percentile).toBeCloseTo((1 / 12) * 100);
    const top = (await (
      await api(`/v1/leaderboards/${board}/players/f11/around?n=2`)
    ).json()) as Page;
    expect(top.entries.map((e) => e.playerId)).toEqual(["f11", "f10", "f9"]);
    const bottom = (await (
      await api(`/v1/leaderboards/${board}/players/f0/around?n=2`)
    ).json()) as Page;
    expect(bottom.entries.map((e) => e.playerId)).toEqual(["f2", "f1", "f0"]);
    const friends = await api(`/v1/leaderboards/${board}/players`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ playerIds: ["f3", "f7", "nobody"] }),
    });
    expect(((await friends.json()) as Page).entries.map((e) => [e.playerId, e.rank])).toEqual([
      ["f7", 5],
      ["f3", 9],
    ]);
    const dry = (await (await api(`/v1/leaderboards/${board}/rank-of?score=105`)).json()) as {
      rank: number;
    };
    // 6 better scores, and an equal 105 reached earlier: a new 105 would rank 8th.
    expect(dry.rank).toBe(8);
    expect((await api(`/v1/leaderboards/${board}/players/ghost`)).status).toBe(404);
  });
});

describe("GET /v1/players/:player/ranks", () => {
  it("lists the player's rank on every board and current period", async () => {
    const boardA = await createBoard({ periods: ["all", "daily"] });
    const boardB = await createBoard({ sortOrder: "asc" });
    await seed(boardA, [
      ["everywhere", 10],
      ["rival", 20],
    ]);
    await seed(boardB, [
      ["everywhere", 10],
      ["rival", 20],
    ]);
    const body = (await (await api("/v1/players/everywhere/ranks")).json()) as {
      ranks: Array<{ board: string; period: string; rank: number; total: number }>;
    };
    const mine = body.ranks
      .filter((r) => r.board === boardA || r.board === boardB)
      .map((r) => [r.board === boardA ? "A" : "B", r.period, r.rank, r.total]);
    expect(mine.sort()).toEqual([
      ["A", "all", 2, 2],
      ["A", "daily", 2, 2],
      ["B", "all", 1, 2],
    ]);
    expect(
      ((await (await api("/v1/players/nobody-at-all/ranks")).json()) as { ranks: unknown[] }).ranks,
    ).toEqual([]);
  });

  it("a long history of past periods does not crowd out the current ones", async () => {
    const board = await createBoard({ periods: ["all", "daily"] });
    const player = `veteran-${eventId().slice(0, 8)}`;
    await seed(board, [[player, 10]]);
    // 700 days of past daily records, more than the old lookup's 400 rows.
    await query(sql`insert into scores (board_id, period_key, player_id, score, sort_score, reached_at)
      select ${board}, to_char(current_date - g, 'YYYY-MM-DD'), ${player}, 1, -1, now() - g * interval '1 day'
      from generate_series(1, 700) g`);
    // The current records written last (an update moves them after the history in the table).
    await query(
      sql`update scores set version = version + 1 where board_id = ${board} and player_id = ${player} and score = 10`,
    );
    const body = (await (await api(`/v1/players/${player}/ranks`)).json()) as {
      ranks: Array<{ board: string; period: string }>;
    };
    expect(body.ranks.map((r) => r.period).sort()).toEqual(["all", "daily"]);
  });
});

describe("live updates", () => {
  it("a WebSocket receives the top-N after an ingested event", async () => {
    const board = await createBoard();
    const res = await exports.default.fetch(
      new Request(`http://edge.test/v1/leaderboards/${board}/live?limit=5`, {
        headers: { upgrade: "websocket" },
      }),
    );
    expect(res.status).toBe(101);
    const socket = res.webSocket;
    if (!socket) throw new Error("no WebSocket in the response");
    socket.accept();
    const messages: LiveMessage[] = [];
    socket.addEventListener("message", (event) => messages.push(JSON.parse(String(event.data))));
    await postEvents([
      {
        id: eventId(),
        type: "score",
        playerId: "live-1",
        occurredAt: iso(),
        boardId: board,
        score: 77,
      },
    ]);
    // The snapshot, then a delta naming the changed row (the client applies it to its window).
    const view = new LiveView();
    const update = await eventually(
      async () => {
        while (messages.length > 0) {
          const message = messages.shift() as LiveMessage;
          expect(view.apply(message)).toBe(true);
          if (message.type === "delta") return message;
        }
        return undefined;
      },
      15_000,
      "a live update",
    );
    expect(update.rows.map((e) => e.playerId)).toEqual(["live-1"]);
    expect(view.entries.map((e) => [e.rank, e.playerId])).toEqual([[1, "live-1"]]);
    socket.close();
  });

  it("answers a plain GET on the live route with 426 and a documented error code", async () => {
    const board = await createBoard();
    const res = await api(`/v1/leaderboards/${board}/live`);
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("UPGRADE_REQUIRED");
    expect(errorStatus[body.error.code as keyof typeof errorStatus]).toBe(426);
  });
});
