import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { leaderboardObjectName } from "../../src/domain/board-period-key";
import type { EventMessage } from "../../src/domain/messages";
import type { AppBindings } from "../../src/env";
import worker from "../../src/index";
import { PROJECTION_ATTEMPTS } from "../../src/queue/event-consumer";
import {
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  query,
  scoreRows,
  testEnv,
  uniqueId,
} from "../helpers/factories";

const SCORE_QUEUE = "edgeboard-score-events";
const MAX = Number.MAX_SAFE_INTEGER;
const now = Date.now();
const recent = (minutesAgo: number) => now - minutesAgo * 60_000;

function scoreEvent(
  boardId: string,
  playerId: string,
  score: number,
  minutesAgo = 1,
): EventMessage {
  return {
    kind: "event",
    id: eventId(),
    type: "score",
    playerId,
    boardId,
    score,
    occurredAt: recent(minutesAgo),
    receivedAt: now,
  };
}

/** Delivers bodies to the real queue handler as one batch; returns acks and retries. */
async function deliver(
  bodies: unknown[],
  options: { env?: AppBindings; attempts?: number; ids?: string[] } = {},
) {
  const batch = createMessageBatch(
    SCORE_QUEUE,
    bodies.map((body, i) => ({
      id: options.ids?.[i] ?? uniqueId("msg"),
      timestamp: new Date(),
      attempts: options.attempts ?? 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, options.env ?? testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return getQueueResult(batch, ctx);
}

async function rejections(board: string) {
  return query<{ event_id: string; player_id: string; code: string; score: string }>(
    sql`select event_id, player_id, code, score::text from score_rejections where board_id = ${board} order by rejected_at, event_id`,
  );
}

async function deadLettersFor(board: string) {
  const rows = await query<{ n: string }>(
    sql`select count(*) as n from dead_letters where body::text like ${`%${board}%`}`,
  );
  return Number(rows[0]?.n);
}

/** The top page straight from the board's Durable Object (no edge cache). */
async function objectTop(board: string) {
  const stub = testEnv.LEADERBOARD.getByName(leaderboardObjectName(board, "all"));
  const page = await stub.page({ limit: 10 });
  return page.entries.map((e) => [e.playerId, e.score]);
}

describe("records stay inside their board's bounds", () => {
  it("increments past the safe-integer range are refused per event; the board keeps moving for everyone else", async () => {
    const board = await createBoard({ operator: "increment", periods: ["all"] });
    const first = scoreEvent(board, "whale", MAX);
    expect((await deliver([first, scoreEvent(board, "amy", 5)])).retryMessages).toEqual([]);
    const overflow = [scoreEvent(board, "whale", MAX), scoreEvent(board, "whale", MAX, 2)];
    const result = await deliver([
      ...overflow,
      scoreEvent(board, "amy", 3),
      scoreEvent(board, "bo", 7),
    ]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(4);

    expect((await scoreRows(board)).map((r) => [r.player_id, r.score])).toEqual([
      ["amy", 8],
      ["bo", 7],
      ["whale", MAX],
    ]);
    const refused = await rejections(board);
    expect(refused.map((r) => [r.event_id, r.player_id, r.code]).sort()).toEqual(
      overflow.map((e) => [e.id, "whale", "SCORE_OUT_OF_RANGE"]).sort(),
    );
    // Projected whole: the object ranks every record Postgres holds, and nothing was dead-lettered.
    expect(await objectTop(board)).toEqual([
      ["whale", MAX],
      ["amy", 8],
      ["bo", 7],
    ]);
    expect(await deadLettersFor(board)).toBe(0);
  });

  it("a thousand maximal increments never overflow Postgres: each refused once, none dead-lettered, redelivery changes nothing", async () => {
    const board = await createBoard({ operator: "increment", periods: ["all", "weekly"] });
    const events = Array.from({ length: 1000 }, () => scoreEvent(board, "cheat", MAX));
    const messages = [];
    for (let i = 0; i < events.length; i += 100)
      messages.push({
        kind: "events",
        events: events.slice(i, i + 100).map(({ kind: _k, ...e }) => e),
      });
    // The first event lands alone; the other 999 arrive in later batches and each would overflow.
    await deliver([{ ...events[0] }]);
    for (const message of messages) expect((await deliver([message])).retryMessages).toEqual([]);
    // Redelivered: duplicates, refused nothing new.
    await deliver([messages[3]]);
    const rows = await scoreRows(board);
    expect(rows.map((r) => r.score)).toEqual([MAX, MAX]);
    const refused = await rejections(board);
    expect(refused).toHaveLength(999);
    expect(new Set(refused.map((r) => r.event_id)).size).toBe(999);
    const stats = await query<{ out_of_range: string }>(
      sql`select sum(out_of_range)::text as out_of_range from ingest_stats where queue = 'scores' and hour = date_trunc('hour', now())`,
    );
    expect(Number(stats[0]?.out_of_range)).toBeGreaterThanOrEqual(999);
    expect(await deadLettersFor(board)).toBe(0);
    const res = await api("/v1/admin/ingest/stats", {
      headers: { authorization: `Bearer ${testEnv.ADMIN_KEY}` },
    });
    const body = (await res.json()) as {
      queues: Array<{ queue: string; outOfRange: number }>;
      recentRefusals: Array<{ boardId: string; code: string; playerId: string }>;
    };
    expect(body.queues.find((q) => q.queue === "scores")?.outOfRange).toBeGreaterThanOrEqual(999);
    const mine = body.recentRefusals.filter((r) => r.boardId === board);
    expect(mine).toHaveLength(20);
    expect(mine[0]).toMatchObject({ code: "SCORE_OUT_OF_RANGE", playerId: "cheat" });
  });

  it("a new increment record made of several steps in one batch is ranked by its sum (sort_score), on either sort order", async () => {
    for (const sortOrder of ["desc", "asc"] as const) {
      const board = await createBoard({ operator: "increment", sortOrder, periods: ["all"] });
      await deliver([
        scoreEvent(board, "b", 5),
        scoreEvent(board, "b", 7),
        scoreEvent(board, "b", 11),
        scoreEvent(board, "a", 20),
      ]);
      const rows = await query<{ player_id: string; score: string; sort_score: string }>(
        sql`select player_id, score::text, sort_score::text from scores where board_id = ${board} order by player_id`,
      );
      const sign = sortOrder === "desc" ? "-" : "";
      expect(rows).toEqual([
        { player_id: "a", score: "20", sort_score: `${sign}20` },
        { player_id: "b", score: "23", sort_score: `${sign}23` },
      ]);
    }
  });

  it("a board's own bounds hold the record: a step below minScore is refused, the record keeps its value", async () => {
    const board = await createBoard({
      operator: "increment",
      periods: ["all"],
      minScore: 0,
      maxScore: 1000,
    });
    await deliver([scoreEvent(board, "p", 10, 5)]);
    await deliver([scoreEvent(board, "p", -4, 4)]);
    const below = scoreEvent(board, "p", -7, 3);
    await deliver([below]);
    const fresh = scoreEvent(board, "q", -1, 3);
    await deliver([fresh]);
    expect((await scoreRows(board)).map((r) => [r.player_id, r.score])).toEqual([["p", 6]]);
    expect((await rejections(board)).map((r) => r.event_id).sort()).toEqual(
      [below.id, fresh.id].sort(),
    );
  });

  it("bounds each record on its own: a step refused on the all-time record still counts in today's", async () => {
    const board = await createBoard({
      operator: "increment",
      periods: ["all", "daily"],
      maxScore: 100,
    });
    const yesterday = scoreEvent(board, "p", 90, 24 * 60 + 5);
    await deliver([yesterday]);
    const today = scoreEvent(board, "p", 20, 1);
    await deliver([today]);
    const rows = await scoreRows(board);
    expect(rows.find((r) => r.period_key === "all")?.score).toBe(90);
    expect(
      rows
        .filter((r) => r.period_key !== "all")
        .map((r) => r.score)
        .sort((a, b) => a - b),
    ).toEqual([20, 90]);
    expect((await rejections(board)).map((r) => r.event_id)).toEqual([today.id]);
  });

  it("a clamp board stops the record at its bound and moves on from there", async () => {
    const board = await createBoard({
      operator: "increment",
      periods: ["all"],
      minScore: 0,
      maxScore: 1000,
      scoreOverflow: "clamp",
    });
    await deliver([scoreEvent(board, "p", 600, 5), scoreEvent(board, "p", 600, 4)]);
    expect((await scoreRows(board)).map((r) => r.score)).toEqual([1000]);
    await deliver([scoreEvent(board, "p", 700, 3)]);
    expect((await scoreRows(board)).map((r) => r.score)).toEqual([1000]);
    await deliver([scoreEvent(board, "p", -300, 2)]);
    await deliver([scoreEvent(board, "p", -900, 1)]);
    expect((await scoreRows(board)).map((r) => r.score)).toEqual([0]);
    expect(await rejections(board)).toEqual([]);
    expect(await objectTop(board)).toEqual([["p", 0]]);
  });

  it("an asc increment board is bounded on the score, not its sort key", async () => {
    const board = await createBoard({
      operator: "increment",
      sortOrder: "asc",
      periods: ["all"],
      maxScore: 100,
      scoreOverflow: "clamp",
    });
    await deliver([scoreEvent(board, "a", 70)]);
    await deliver([scoreEvent(board, "a", 70), scoreEvent(board, "b", 5)]);
    const rows = await query<{ player_id: string; score: string; sort_score: string }>(
      sql`select player_id, score::text, sort_score::text from scores where board_id = ${board} order by player_id`,
    );
    expect(rows).toEqual([
      { player_id: "a", score: "100", sort_score: "100" },
      { player_id: "b", score: "5", sort_score: "5" },
    ]);
  });

  it("Postgres itself refuses a record outside the safe-integer range", async () => {
    const board = await createBoard({ operator: "increment", periods: ["all"] });
    await deliver([scoreEvent(board, "p", 1)]);
    const error = (await query(
      sql`update scores set score = 9007199254740992 where board_id = ${board}`,
    ).catch((e) => e)) as {
      cause?: { message?: string };
    };
    expect(error.cause?.message).toMatch(/scores_score_safe/);
  });
});

describe("POST /v1/events judges an increment as a step", () => {
  it("accepts a negative step on a board whose minScore is 0, refuses a step larger than the whole range", async () => {
    const board = await createBoard({ operator: "increment", minScore: 0, maxScore: 100 });
    const at = new Date(recent(1)).toISOString();
    const res = await postEvents([
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: -5 },
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: 100 },
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: 101 },
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: -101 },
    ]);
    const body = (await res.json()) as {
      accepted: number;
      rejected: Array<{ index: number; error: { code: string } }>;
    };
    expect(res.status).toBe(202);
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [2, "SCORE_OUT_OF_RANGE"],
      [3, "SCORE_OUT_OF_RANGE"],
    ]);
  });

  it("keeps refusing a best score outside the bounds at the edge, with the bound in the message", async () => {
    const board = await createBoard({ operator: "best", minScore: 10, maxScore: 100 });
    const at = new Date(recent(1)).toISOString();
    const res = await postEvents([
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: 10 },
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: 100 },
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: 9 },
      { id: eventId(), type: "score", playerId: "p", occurredAt: at, boardId: board, score: 101 },
    ]);
    const body = (await res.json()) as {
      accepted: number;
      rejected: Array<{ index: number; error: { code: string; message: string } }>;
    };
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [2, "SCORE_OUT_OF_RANGE"],
      [3, "SCORE_OUT_OF_RANGE"],
    ]);
    expect(body.rejected[0]?.error.message).toContain("minScore 10");
    expect(body.rejected[1]?.error.message).toContain("maxScore 100");
  });

  it("creates boards with scoreOverflow and shows it; an unknown value is a 400", async () => {
    const board = await createBoard({ operator: "increment", scoreOverflow: "clamp" });
    const view = (await (await api(`/v1/boards/${board}`)).json()) as { scoreOverflow: string };
    expect(view.scoreOverflow).toBe("clamp");
    const bad = await api("/v1/admin/boards", {
      method: "POST",
      headers: { authorization: `Bearer ${testEnv.ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ id: uniqueId("b"), name: "x", scoreOverflow: "wrap" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe(
      "VALIDATION_FAILED",
    );
    for (const extra of [
      { name: "x\u0000y" },
      { name: "\ud800" },
      { metadata: { a: "\u0000" } },
      { metadata: { "\u0000": 1 } },
    ]) {
      const res = await api("/v1/admin/boards", {
        method: "POST",
        headers: {
          authorization: `Bearer ${testEnv.ADMIN_KEY}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ id: uniqueId("b"), name: "x", ...extra }),
      });
      expect([extra, res.status]).toEqual([extra, 400]);
    }
  });
});

/**
 * The board's objects answer every call with an error (an object that is overloaded or keeps
 * failing); every other object is the real one. Fault injection, not a stand-in for the store.
 */
function failingObjectsOf(board: string): AppBindings {
  const real = testEnv.LEADERBOARD;
  const failing = {
    applyChanges: () =>
      Promise.reject(new Error("Durable Object is overloaded. Too many requests queued.")),
  };
  const namespace = new Proxy(real, {
    get(target, property, receiver) {
      if (property === "getByName") {
        return (name: string) =>
          name === leaderboardObjectName(board, "all") ? failing : target.getByName(name);
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { ...testEnv, LEADERBOARD: namespace };
}

describe("a projection that keeps failing never holds the batch hostage", () => {
  it("retries the batch, then acks it and queues the object for a rebuild that the cron performs", async () => {
    const sick = await createBoard({ operator: "best", periods: ["all"] });
    const healthy = await createBoard({ operator: "best", periods: ["all"] });
    const env = failingObjectsOf(sick);
    const bodies = [scoreEvent(sick, "s1", 50), scoreEvent(healthy, "h1", 40)];
    const ids = [uniqueId("m"), uniqueId("m")];

    const first = await deliver(bodies, { env, ids, attempts: 1 });
    expect(first.retryMessages.map((m) => m.msgId).sort()).toEqual([...ids].sort());
    // The healthy board's object was projected all the same.
    expect(await objectTop(healthy)).toEqual([["h1", 40]]);
    expect(await query(sql`select 1 from object_repairs where board_id = ${sick}`)).toEqual([]);

    const last = await deliver(bodies, { env, ids, attempts: PROJECTION_ATTEMPTS });
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks.sort()).toEqual([...ids].sort());
    const queued = await query<{ error: string }>(
      sql`select error from object_repairs where board_id = ${sick}`,
    );
    expect(queued).toHaveLength(1);
    expect(queued[0]?.error).toContain("overloaded");

    // The minute cron rebuilds the object from Postgres and clears the request.
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }),
      testEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    await eventually(
      async () => ((await objectTop(sick)).length === 1 ? true : undefined),
      10_000,
      "the rebuilt object",
    );
    expect(await objectTop(sick)).toEqual([["s1", 50]]);
    expect(await query(sql`select 1 from object_repairs where board_id = ${sick}`)).toEqual([]);
  });
});
