import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { encodeCursor, READABLE_PAST_DAYS } from "../../src/domain";
import { counters } from "../../src/lib/metrics";
import { api, createBoard, eventId, eventually, postEvents, query } from "../helpers/factories";

type ErrorBody = { error: { code: string; message: string } };

const DAY = 86_400_000;
const dayKey = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().slice(0, 10);

async function status(
  path: string,
): Promise<{ status: number; body: ErrorBody & Record<string, unknown> }> {
  const res = await api(path);
  return { status: res.status, body: (await res.json()) as ErrorBody & Record<string, unknown> };
}

describe("period keys are judged before any store is asked", () => {
  it("answers 404 for periods the board cannot have, 400 for malformed keys, on every read route", async () => {
    const board = await createBoard({ periods: ["all", "daily", "weekly", "monthly"] });
    const notFound = [
      `?period=daily&at=${dayKey(-3 * DAY)}`, // not started yet
      "?period=weekly&at=2099-W01",
      "?period=monthly&at=2020-01", // before the board existed
      `?period=daily&at=${dayKey(30 * DAY)}`, // ended before the board (created now) could take events
    ];
    const before = { ...counters };
    for (const q of notFound) {
      for (const path of [
        `/v1/leaderboards/${board}`,
        `/v1/leaderboards/${board}/players/p1`,
        `/v1/leaderboards/${board}/rank-of`,
      ]) {
        const sep = path.endsWith("rank-of") ? `${q}&score=5` : q;
        const res = await status(`${path}${sep}`);
        expect([path, q, res.status, res.body.error?.code]).toEqual([path, q, 404, "NOT_FOUND"]);
      }
      const around = await status(`/v1/leaderboards/${board}/players/p1/around${q}`);
      expect(around.status).toBe(404);
    }
    for (const q of [
      "?period=daily&at=2026-13-45",
      "?period=weekly&at=2026-W99",
      "?period=daily&at=yesterday",
      "?period=hourly",
    ]) {
      const res = await status(`/v1/leaderboards/${board}${q}`);
      expect([q, res.status, res.body.error.code]).toEqual([
        q,
        400,
        res.status === 400 ? res.body.error.code : "x",
      ]);
      expect(["BAD_REQUEST", "VALIDATION_FAILED"]).toContain(res.body.error.code);
    }
    // None of it reached an object or the database's rank paths.
    expect(counters.doReads - before.doReads).toBe(0);
    expect(counters.doRebuilds - before.doRebuilds).toBe(0);
  });

  it("bounds how far back a board's past periods are served", async () => {
    const board = await createBoard({ periods: ["daily"] });
    // A board that has existed for years: its periods within READABLE_PAST_DAYS are served, older
    // ones are not.
    await query(sql`update boards set created_at = now() - interval '5 years' where id = ${board}`);
    const { forgetBoards } = await import("../../src/stores/cache/boards");
    forgetBoards();
    expect(
      (
        await status(
          `/v1/leaderboards/${board}?period=daily&at=${dayKey((READABLE_PAST_DAYS - 2) * DAY)}`,
        )
      ).status,
    ).toBe(200);
    const old = await status(
      `/v1/leaderboards/${board}?period=daily&at=${dayKey((READABLE_PAST_DAYS + 2) * DAY)}`,
    );
    expect(old.status).toBe(404);
    expect(old.body.error.message).toContain(`${READABLE_PAST_DAYS} days`);
  });

  it("a past period without records is answered empty without creating its object; one with records is served", async () => {
    const board = await createBoard({ periods: ["daily"] });
    const yesterday = dayKey(DAY);
    const before = { ...counters };
    const empty = await status(`/v1/leaderboards/${board}?period=daily&at=previous`);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({
      periodKey: yesterday,
      total: 0,
      entries: [],
      nextCursor: null,
    });
    expect(
      (await status(`/v1/leaderboards/${board}/players/p1?period=daily&at=previous`)).status,
    ).toBe(404);
    expect(
      (await status(`/v1/leaderboards/${board}/rank-of?period=daily&at=previous&score=10`)).body,
    ).toMatchObject({ rank: 1, total: 0 });
    expect(counters.doReads - before.doReads).toBe(0);

    // A late event lands in yesterday's period; once the isolate's short "empty" memory lapses, it
    // is served.
    const occurredAt = new Date(Date.parse(`${yesterday}T12:00:00Z`)).toISOString();
    const res = await postEvents({
      id: eventId(),
      type: "score",
      playerId: "late",
      occurredAt,
      boardId: board,
      score: 42,
    });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const rows = await query<{ n: string }>(
        sql`select count(*) as n from scores where board_id = ${board}`,
      );
      return Number(rows[0]?.n) === 1 ? true : undefined;
    });
    const page = await eventually(
      async () => {
        const body = (await (
          await api(`/v1/leaderboards/${board}?period=daily&at=${yesterday}`)
        ).json()) as { entries: unknown[] };
        return body.entries.length === 1 ? body : undefined;
      },
      25_000,
      "the late record on yesterday's page",
    );
    expect(page).toMatchObject({ total: 1, entries: [{ rank: 1, playerId: "late", score: 42 }] });
  }, 40_000);

  it("a live feed follows the current period only", async () => {
    const board = await createBoard({ periods: ["daily"] });
    const res = await api(`/v1/leaderboards/${board}/live?period=daily&at=previous`, {
      headers: { upgrade: "websocket" },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain("current period");
  });
});

/** A cursor as a client could forge it: the encoding of any values, valid or not. */
function forged(values: unknown[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(values));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

describe("cursors are range-checked before they reach a store", () => {
  it("refuses edited cursors with 400 (never 500), accepts a real one", async () => {
    const board = await createBoard();
    const bad = [
      [1, "all", 10, 9_000_000_000_000_000, "p1"], // reachedAt past any date a store holds
      [1, "all", 10, -1, "p1"],
      [1, "all", 10, 1_700_000_000_000, "p1<script>"],
      [1, "all", 10, 1_700_000_000_000, "x".repeat(200)],
      [1, "all", 1e300, 1_700_000_000_000, "p1"],
      [1, "2026-W01", 10, 1_700_000_000_000, "p1"], // another period
      [2, "all", 10, 1_700_000_000_000, "p1"],
    ];
    for (const values of bad) {
      const res = await status(`/v1/leaderboards/${board}?cursor=${forged(values)}`);
      expect([values, res.status, res.body.error.code]).toEqual([values, 400, "BAD_REQUEST"]);
    }
    const real = encodeCursor({
      period: "all",
      score: 10,
      reachedAt: 1_700_000_000_000,
      playerId: "p1",
    });
    expect((await status(`/v1/leaderboards/${board}?cursor=${real}`)).status).toBe(200);
  });
});
