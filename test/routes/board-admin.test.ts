import { describe, expect, it } from "vitest";
import { ALL_TIME_KEY } from "../../src/domain/periods";
import { forgetBoards } from "../../src/stores/cache/boards";
import { leaderboardStub } from "../../src/stores/objects/leaderboard";
import { playerToken } from "../access/credentials";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  type IngestReply,
  postEvents,
  testEnv,
} from "../helpers/factories";

type Json = Record<string, unknown>;

async function call(method: string, path: string, body?: unknown, headers = ADMIN) {
  const res = await api(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

const patch = (board: string, body: unknown) => call("PATCH", `/v1/admin/boards/${board}`, body);
const definition = async (board: string) => (await call("GET", `/v1/boards/${board}`)).body;

const score = (boardId: string, playerId: string, value: number) => ({
  id: eventId(),
  type: "score",
  playerId,
  occurredAt: new Date(Date.now() - 1_000).toISOString(),
  boardId,
  score: value,
});

async function send(events: unknown[], headers = ADMIN): Promise<IngestReply> {
  const res = await api("/v1/events", {
    method: "POST",
    headers,
    body: JSON.stringify({ events }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as IngestReply;
}

/** Every board id GET /v1/admin/boards lists, following nextCursor `limit` at a time. */
async function listAll(limit: number, includeArchived: boolean) {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const q = new URLSearchParams({
      limit: String(limit),
      includeArchived: String(includeArchived),
    });
    if (cursor) q.set("cursor", cursor);
    const res = await call("GET", `/v1/admin/boards?${q}`);
    expect(res.status).toBe(200);
    const page = res.body as { boards: Array<{ id: string }>; nextCursor: string | null };
    expect(page.boards.length).toBeLessThanOrEqual(limit);
    ids.push(...page.boards.map((b) => b.id));
    cursor = page.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error("the list never ended");
}

describe("GET /v1/admin/boards", () => {
  it("pages through every board in id order with an opaque cursor; archived ones only on request", async () => {
    const mine = await Promise.all([1, 2, 3, 4, 5].map(() => createBoard()));
    const archived = mine[2] as string;
    expect((await call("DELETE", `/v1/admin/boards/${archived}`)).status).toBe(200);

    const live = await listAll(2, false);
    expect(live).toEqual([...live].sort());
    expect(new Set(live).size).toBe(live.length);
    expect(mine.filter((id) => live.includes(id))).toEqual(mine.filter((id) => id !== archived));

    const all = await listAll(2, true);
    expect(mine.every((id) => all.includes(id))).toBe(true);
    expect(all).toEqual([...all].sort());
    // Its row, walked to page by page (other files' boards share the database).
    let row: Json | undefined;
    let cursor: string | null = "";
    while (!row && cursor !== null) {
      const q = new URLSearchParams({ includeArchived: "true", limit: "200" });
      if (cursor) q.set("cursor", cursor);
      const listed = await call("GET", `/v1/admin/boards?${q}`);
      expect(listed.headers.get("cache-control")).toBe("no-store");
      row = (listed.body.boards as Json[]).find((b) => b.id === archived);
      cursor = listed.body.nextCursor as string | null;
    }
    expect(row?.archivedAt).toEqual(expect.any(String));
  });

  it("answers 400 JSON for a cursor it did not issue and a bad limit or flag", async () => {
    for (const q of [
      "cursor=garbage",
      "cursor=YjE6",
      "limit=0",
      "limit=201",
      "includeArchived=yes",
    ]) {
      const res = await call("GET", `/v1/admin/boards?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
      expect(res.body.error).toMatchObject({
        code: expect.stringMatching(/BAD_REQUEST|VALIDATION/),
      });
    }
  });
});

describe("PATCH /v1/admin/boards/:board", () => {
  it("changes each field, leaves the others, and serves the change from cache and from Postgres", async () => {
    const board = await createBoard({ operator: "increment", minScore: 0, maxScore: 1000 });
    const before = await definition(board);
    const changes: Json[] = [
      { name: "Renamed ★" },
      { metadata: { season: 4, tags: ["x"] } },
      { metadata: null },
      { minScore: -50 },
      { maxScore: 5000 },
      { maxScore: null },
      { scoreOverflow: "clamp" },
      { maxIncrement: 25 },
      { maxScoreEventsPerMinute: 30 },
      { maxScoreEventsPerMinute: null },
      { topSize: 42 },
      { cacheTtlSeconds: 9 },
      { clientWrites: false },
      { public: false },
      // No records yet: the structural settings may still change.
      { periods: ["daily", "all", "daily"] },
      { timeZone: "Europe/Berlin" },
      { weekStart: "sunday" },
      { sortOrder: "asc" },
    ];
    let expected: Json = before;
    for (const change of changes) {
      const res = await patch(board, change);
      const [key, value] = Object.entries(change)[0] as [string, unknown];
      const shown = key === "periods" ? ["daily", "all"] : value;
      expected = { ...expected, [key]: shown ?? undefined };
      expected = JSON.parse(JSON.stringify(expected)) as Json;
      expect([change, res.status, res.body]).toEqual([change, 200, expected]);
      for (const how of ["cached", "loaded"]) {
        if (how === "loaded") forgetBoards();
        expect([change, how, await definition(board)]).toEqual([change, how, expected]);
      }
    }
  });

  it("a new cacheTtlSeconds shows in the page's Cache-Control at once", async () => {
    const board = await createBoard({ cacheTtlSeconds: 7 });
    expect((await api(`/v1/leaderboards/${board}`)).headers.get("cache-control")).toBe(
      "public, max-age=7, stale-while-revalidate=2",
    );
    expect((await patch(board, { cacheTtlSeconds: 17 })).status).toBe(200);
    expect((await api(`/v1/leaderboards/${board}`)).headers.get("cache-control")).toBe(
      "public, max-age=17, stale-while-revalidate=2",
    );
  });

  it("a board made private refuses anonymous reads at once, even of a page cached while it was public", async () => {
    const board = await createBoard();
    expect((await api(`/v1/leaderboards/${board}`)).status).toBe(200);
    expect((await patch(board, { public: false })).status).toBe(200);
    const anonymous = await api(`/v1/leaderboards/${board}`);
    expect(anonymous.status).toBe(401);
    expect((await api(`/v1/leaderboards/${board}`, { headers: ADMIN })).status).toBe(200);
  });

  it("limits and write policy apply to the next events", async () => {
    const board = await createBoard({ maxScore: 100 });
    const player = "limits-player";
    expect((await send([score(board, player, 500)])).rejected[0]?.error.code).toBe(
      "SCORE_OUT_OF_RANGE",
    );
    expect((await patch(board, { maxScore: null })).status).toBe(200);
    expect((await send([score(board, player, 500)])).accepted).toBe(1);

    const token = {
      authorization: `Bearer ${await playerToken(player)}`,
      "content-type": "application/json",
    };
    expect((await send([score(board, player, 600)], token)).accepted).toBe(1);
    expect((await patch(board, { clientWrites: false })).status).toBe(200);
    const refused = await send([score(board, player, 700)], token);
    expect(refused.rejected[0]?.error.code).toBe("FORBIDDEN");
  });

  it("a smaller or larger topSize reaches the board's object at once", async () => {
    const board = await createBoard({ topSize: 5 });
    const players = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `top-${i}`);
    expect((await send(players.map((p, i) => score(board, p, 100 - i)))).accepted).toBe(8);
    const stub = leaderboardStub(testEnv, board, ALL_TIME_KEY);
    await eventually(async () => ((await stub.stats()).total === 8 ? true : undefined));
    expect((await stub.stats()).held).toBe(5);
    const page = async () =>
      (
        (await (await api(`/v1/leaderboards/${board}?limit=8`)).json()) as {
          entries: Array<{ playerId: string }>;
        }
      ).entries.map((e) => e.playerId);
    expect(await page()).toEqual(players);

    expect((await patch(board, { topSize: 3 })).status).toBe(200);
    const smaller = await stub.stats();
    expect([smaller.held, smaller.board?.topSize, smaller.complete]).toEqual([3, 3, true]);
    expect(await page()).toEqual(players);

    expect((await patch(board, { topSize: 10 })).status).toBe(200);
    const larger = await stub.stats();
    expect([larger.held, larger.board?.topSize, larger.complete]).toEqual([8, 10, true]);
    expect(await page()).toEqual(players);
  });

  it("changes sortOrder and operator only while the board has no records: 409 after", async () => {
    const board = await createBoard();
    expect((await patch(board, { sortOrder: "asc", operator: "latest" })).status).toBe(200);
    expect((await send([score(board, "scored", 10)])).accepted).toBe(1);
    await eventually(async () => {
      const res = await api(`/v1/leaderboards/${board}`);
      return ((await res.json()) as { total: number }).total === 1 ? true : undefined;
    });
    for (const change of [
      { sortOrder: "desc" },
      { operator: "best" },
      { timeZone: "Asia/Tokyo" },
    ]) {
      const res = await patch(board, change);
      expect([change, res.status, (res.body.error as Json).code]).toEqual([
        change,
        409,
        "CONFLICT",
      ]);
    }
    // The values it already has are no change; the other fields still change.
    const same = await patch(board, {
      sortOrder: "asc",
      operator: "latest",
      name: "Still editable",
    });
    expect(same.status).toBe(200);
    expect(await definition(board)).toMatchObject({ sortOrder: "asc", operator: "latest" });
  });

  it("answers 404 for an unknown board and 400 JSON for bad bodies, changing nothing", async () => {
    expect((await patch("no-such-board-at-all", { name: "x" })).status).toBe(404);
    const board = await createBoard({ minScore: 0, maxScore: 100 });
    const before = await definition(board);
    const bad: unknown[] = [
      { topSize: 0 },
      { topSize: 10_001 },
      { cacheTtlSeconds: 301 },
      { sortOrder: "up" },
      { name: "" },
      { name: 5 },
      { periods: [] },
      { timeZone: "Mars/Olympus" },
      { metadata: "flat" },
      { metadata: { bad: "\u0000" } },
      { topsize: 10 },
      { minScore: 500 },
      { maxScore: -1 },
      { maxIncrement: 5 },
      [],
      "null",
      "{not json",
    ];
    for (const body of bad) {
      const res = await patch(board, body);
      expect([body, res.status]).toEqual([body, 400]);
      expect(res.body.error).toMatchObject({
        code: expect.any(String),
        message: expect.any(String),
      });
    }
    const text = await api(`/v1/admin/boards/${board}`, {
      method: "PATCH",
      headers: { authorization: ADMIN.authorization, "content-type": "text/plain" },
      body: "{}",
    });
    expect(text.status).toBe(415);
    forgetBoards();
    expect(await definition(board)).toEqual(before);
  });
});

describe("POST /v1/events with the board's cache", () => {
  it("an edit made here is used by the very next event (no wait for the cache)", async () => {
    const board = await createBoard({ maxScore: 10 });
    expect((await send([score(board, "p", 5)])).accepted).toBe(1);
    expect((await patch(board, { maxScore: 1 })).status).toBe(200);
    expect((await send([score(board, "p", 5)])).rejected[0]?.error.code).toBe("SCORE_OUT_OF_RANGE");
    expect((await postEvents([score(board, "p", 1)])).status).toBe(202);
  });
});
