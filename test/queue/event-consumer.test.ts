import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EventMessage } from "../../src/domain/messages";
import type { AppBindings } from "../../src/env";
import worker from "../../src/index";
import { counters } from "../../src/lib/metrics";
import { openDatabase } from "../../src/stores/postgres/client";
import {
  type ContributionRow,
  type EventRow,
  type PersistResult,
  persistBatch,
} from "../../src/stores/postgres/persist-batch";
import { createBoard, eventId, query, scoreRows, testEnv, uniqueId } from "../helpers/factories";

const SCORE_QUEUE = "edgeboard-score-events";
const now = Date.now();

function scoreEvent(
  boardId: string,
  playerId: string,
  score: number,
  occurredAt: number | string,
  extra: Partial<EventMessage> = {},
): EventMessage {
  return {
    kind: "event",
    id: eventId(),
    type: "game_ended",
    playerId,
    boardId,
    score,
    occurredAt: typeof occurredAt === "string" ? Date.parse(occurredAt) : occurredAt,
    receivedAt: now,
    ...extra,
  };
}

/**
 * An event the edge accepted at `at` (its receivedAt): the time that ranks ties and orders
 * `latest`.
 */
const acceptedAt = (boardId: string, playerId: string, score: number, at: number) =>
  scoreEvent(boardId, playerId, score, at, { receivedAt: at });

let messageSeq = 0;
/** Delivers bodies to the real queue handler as one batch and returns the ack/retry outcome. */
async function deliver(
  bodies: unknown[],
  options: { env?: AppBindings; attempts?: number; ids?: string[] } = {},
) {
  const batch = createMessageBatch(
    SCORE_QUEUE,
    bodies.map((body, i) => ({
      id: options.ids?.[i] ?? `msg-${++messageSeq}`,
      timestamp: new Date(),
      attempts: options.attempts ?? 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, options.env ?? testEnv, ctx);
  return getQueueResult(batch, ctx);
}

const t = (iso: string) => Date.parse(iso);
const recent = (minutesAgo: number) => now - minutesAgo * 60_000;

describe("operators", () => {
  it("best on a desc board keeps the highest score, whatever the arrival order", async () => {
    const board = await createBoard({ operator: "best", sortOrder: "desc" });
    await deliver([acceptedAt(board, "p1", 70, recent(3)), acceptedAt(board, "p1", 50, recent(2))]);
    await deliver([acceptedAt(board, "p1", 60, recent(1)), acceptedAt(board, "p1", 90, recent(4))]);
    const rows = await scoreRows(board);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.score).toBe(90);
    expect(rows[0]?.reached_at).toBe(new Date(recent(4)).toISOString());
  });

  it("best on an asc board keeps the lowest score (race times)", async () => {
    const board = await createBoard({ operator: "best", sortOrder: "asc" });
    await deliver([acceptedAt(board, "p1", 61_000, recent(3))]);
    await deliver([
      acceptedAt(board, "p1", 59_500, recent(2)),
      acceptedAt(board, "p1", 62_000, recent(1)),
    ]);
    expect((await scoreRows(board))[0]?.score).toBe(59_500);
  });

  it("best: an equal score accepted earlier (delivered late) takes the earlier reachedAt", async () => {
    const board = await createBoard({ operator: "best" });
    await deliver([acceptedAt(board, "p1", 100, recent(2))]);
    await deliver([acceptedAt(board, "p1", 100, recent(5))]);
    await deliver([acceptedAt(board, "p1", 100, recent(1))]);
    const [row] = await scoreRows(board);
    expect(row?.score).toBe(100);
    expect(row?.reached_at).toBe(new Date(recent(5)).toISOString());
  });

  it("latest keeps the most recently accepted event; a late delivery of an older one does not overwrite it", async () => {
    const board = await createBoard({ operator: "latest" });
    await deliver([acceptedAt(board, "p1", 10, recent(5))]);
    await deliver([acceptedAt(board, "p1", 30, recent(1))]);
    await deliver([acceptedAt(board, "p1", 20, recent(3))]);
    const [row] = await scoreRows(board);
    expect(row?.score).toBe(30);
    expect(row?.reached_at).toBe(new Date(recent(1)).toISOString());
  });

  it("latest within one batch picks the newest event", async () => {
    const board = await createBoard({ operator: "latest", sortOrder: "asc" });
    await deliver([
      scoreEvent(board, "p1", 5, recent(1)),
      scoreEvent(board, "p1", 7, recent(9)),
      scoreEvent(board, "p1", 6, recent(4)),
    ]);
    expect((await scoreRows(board))[0]?.score).toBe(5);
  });

  it("increment sums deltas across and within batches; reachedAt is the newest contribution", async () => {
    const board = await createBoard({ operator: "increment" });
    await deliver([acceptedAt(board, "p1", 10, recent(5)), acceptedAt(board, "p1", 5, recent(4))]);
    await deliver([acceptedAt(board, "p1", -3, recent(2)), acceptedAt(board, "p2", 1, recent(2))]);
    const rows = await scoreRows(board);
    expect(rows.find((r) => r.player_id === "p1")?.score).toBe(12);
    expect(rows.find((r) => r.player_id === "p1")?.reached_at).toBe(
      new Date(recent(2)).toISOString(),
    );
    expect(rows.find((r) => r.player_id === "p2")?.score).toBe(1);
  });

  it("increment on an asc board sums too, and ranks the lowest total first", async () => {
    const board = await createBoard({ operator: "increment", sortOrder: "asc" });
    await deliver([
      scoreEvent(board, "slow", 40, recent(3)),
      scoreEvent(board, "fast", 10, recent(3)),
      scoreEvent(board, "fast", 15, recent(2)),
    ]);
    const rows = await query<{ player_id: string; score: string }>(
      sql`select player_id, score from scores where board_id = ${board} and period_key = 'all' order by sort_score, reached_at, player_id`,
    );
    expect(rows.map((r) => [r.player_id, Number(r.score)])).toEqual([
      ["fast", 25],
      ["slow", 40],
    ]);
  });

  it("tie-break: at an equal score, the player who reached it first ranks higher", async () => {
    const board = await createBoard({ operator: "best" });
    await deliver([
      scoreEvent(board, "late", 500, recent(1)),
      scoreEvent(board, "early", 500, recent(10)),
      scoreEvent(board, "top", 501, recent(0.5)),
    ]);
    const rows = await query<{ player_id: string }>(
      sql`select player_id from scores where board_id = ${board} and period_key = 'all' order by sort_score, reached_at, player_id`,
    );
    expect(rows.map((r) => r.player_id)).toEqual(["top", "early", "late"]);
  });

  it("backdating occurredAt wins no tie: the player the edge accepted first ranks higher", async () => {
    const board = await createBoard({ operator: "best" });
    await deliver([scoreEvent(board, "honest", 700, recent(1), { receivedAt: recent(1) })]);
    // Sent later, claiming to have happened six days ago.
    await deliver([
      scoreEvent(board, "cheater", 700, recent(6 * 24 * 60), { receivedAt: recent(0.5) }),
    ]);
    const rows = await query<{ player_id: string; reached_at: string }>(
      sql`select player_id, reached_at from scores where board_id = ${board} and period_key = 'all' order by sort_score, reached_at, player_id`,
    );
    expect(rows.map((r) => r.player_id)).toEqual(["honest", "cheater"]);
    expect(new Date(rows[1]?.reached_at as string).getTime()).toBe(recent(0.5));
  });
});

describe("periods", () => {
  // Fixed calendar dates, delivered as if shortly after they occurred: the consumer refuses events
  // past the dedupe horizon (9 days), and their event_ids days must exist.
  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-25T00:00:00Z"));
    await query(sql`select ensure_event_id_partitions('2026-10-30'::date, '2026-11-24'::date)`);
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it("writes every period of the board with keys in its time zone and week start", async () => {
    // 2026-11-22 is a Sunday. In America/New_York (UTC-5 in November) 2026-11-23T04:59:59Z is
    // still Sunday 23:59:59 local; 05:00:00Z is Monday 00:00:00 local.
    const board = await createBoard({
      periods: ["all", "daily", "weekly", "monthly"],
      timeZone: "America/New_York",
      weekStart: "monday",
    });
    await deliver([
      scoreEvent(board, "before", 1, t("2026-11-23T04:59:59Z")),
      scoreEvent(board, "after", 2, t("2026-11-23T05:00:00Z")),
    ]);
    const rows = await scoreRows(board);
    const keysOf = (player: string) =>
      rows
        .filter((r) => r.player_id === player)
        .map((r) => r.period_key)
        .sort();
    expect(keysOf("before")).toEqual(["2026-11", "2026-11-22", "2026-W47", "all"]);
    expect(keysOf("after")).toEqual(["2026-11", "2026-11-23", "2026-W48", "all"]);
  });

  it("a sunday week start puts Sunday into the week that follows it", async () => {
    const board = await createBoard({ periods: ["weekly"], timeZone: "UTC", weekStart: "sunday" });
    await deliver([
      scoreEvent(board, "sat", 1, t("2026-11-21T23:59:59Z")),
      scoreEvent(board, "sun", 1, t("2026-11-22T00:00:00Z")),
      scoreEvent(board, "mon", 1, t("2026-11-23T12:00:00Z")),
    ]);
    const key = (p: string) => (rowsByPlayer.get(p) ?? [])[0];
    const rowsByPlayer = new Map<string, string[]>();
    for (const r of await scoreRows(board))
      rowsByPlayer.set(r.player_id, [...(rowsByPlayer.get(r.player_id) ?? []), r.period_key]);
    expect(key("sun")).toBe(key("mon"));
    expect(key("sat")).not.toBe(key("sun"));
  });

  it("a month end in a non-UTC zone: 23:59:59 local stays in the old month, 00:00:00 starts the new one", async () => {
    vi.setSystemTime(new Date("2026-11-02T00:00:00Z"));
    // Asia/Tokyo is UTC+9: 2026-10-31T14:59:59Z = Oct 31 23:59:59 local.
    const board = await createBoard({ periods: ["daily", "monthly"], timeZone: "Asia/Tokyo" });
    await deliver([
      scoreEvent(board, "oct", 1, t("2026-10-31T14:59:59Z")),
      scoreEvent(board, "nov", 1, t("2026-10-31T15:00:00Z")),
    ]);
    const rows = await scoreRows(board);
    expect(
      rows
        .filter((r) => r.player_id === "oct")
        .map((r) => r.period_key)
        .sort(),
    ).toEqual(["2026-10", "2026-10-31"]);
    expect(
      rows
        .filter((r) => r.player_id === "nov")
        .map((r) => r.period_key)
        .sort(),
    ).toEqual(["2026-11", "2026-11-01"]);
  });
});

describe("idempotency", () => {
  it("the same event id twice in one batch counts once (increment)", async () => {
    const board = await createBoard({ operator: "increment" });
    const event = scoreEvent(board, "p1", 10, recent(1));
    const result = await deliver([event, { ...event }]);
    expect(result.explicitAcks).toHaveLength(2);
    expect((await scoreRows(board))[0]?.score).toBe(10);
  });

  it("the same event id across batches counts once (increment)", async () => {
    const board = await createBoard({ operator: "increment" });
    const event = scoreEvent(board, "p1", 10, recent(1));
    await deliver([event]);
    await deliver([scoreEvent(board, "p1", 5, recent(1)), { ...event }]);
    expect((await scoreRows(board))[0]?.score).toBe(15);
  });

  it("redelivery of a whole batch changes nothing", async () => {
    const board = await createBoard({ operator: "increment", periods: ["all", "daily"] });
    const events = Array.from({ length: 20 }, (_, i) =>
      scoreEvent(board, `p${i % 5}`, i + 1, recent(i)),
    );
    await deliver(events);
    const before = await scoreRows(board);
    const again = await deliver(events, { attempts: 2 });
    expect(again.explicitAcks).toHaveLength(20);
    expect(await scoreRows(board)).toEqual(before);
    const stored = await query<{ n: string }>(
      sql`select count(*) as n from events where board_id = ${board}`,
    );
    expect(Number(stored[0]?.n)).toBe(20);
  });
});

/** persistBatch itself, for what the consumer hands to the projections. */
async function persist(
  boardId: string,
  events: Array<{ id: string; playerId: string; score: number; occurredAt: number }>,
): Promise<PersistResult> {
  const rows: EventRow[] = events.map((e) => ({
    event_id: e.id,
    received_at: new Date(now).toISOString(),
    occurred_at: new Date(e.occurredAt).toISOString(),
    type: "game_ended",
    player_id: e.playerId,
    board_id: boardId,
    tournament_id: null,
    score: e.score,
    display_name: null,
    metadata: null,
    payload: null,
  }));
  const contributions: ContributionRow[] = events.map((e) => ({
    event_id: e.id,
    board_id: boardId,
    period_key: "all",
  }));
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    return await persistBatch(handle.db, "test", rows, contributions);
  } finally {
    await handle.close();
  }
}

describe("transport", () => {
  it("a batch is written with HTTP queries: no WebSocket session, a few round trips", async () => {
    const board = await createBoard({ operator: "increment" });
    const before = { ...counters };
    const result = await deliver(
      Array.from({ length: 40 }, (_, i) => scoreEvent(board, `http-p${i % 7}`, 1, recent(1))),
    );
    expect(result.explicitAcks).toHaveLength(40);
    expect(counters.postgresConnections - before.postgresConnections).toBe(0);
    // The batch write and the record counts (board definitions may come from the isolate).
    const queries = counters.postgresQueries - before.postgresQueries;
    expect(queries).toBeGreaterThanOrEqual(2);
    expect(queries).toBeLessThanOrEqual(3);
    expect((await scoreRows(board)).reduce((sum, r) => sum + Number(r.score), 0)).toBe(40);
  });
});

describe("what a batch hands to the projections", () => {
  it("a score that does not beat the best writes nothing and projects nothing", async () => {
    const board = await createBoard({ operator: "best", sortOrder: "desc", periods: ["all"] });
    const first = await persist(board, [
      { id: eventId(), playerId: "p1", score: 90, occurredAt: recent(3) },
    ]);
    expect(first.changes).toMatchObject([{ playerId: "p1", score: 90, version: 1, changed: true }]);
    const worse = await persist(board, [
      { id: eventId(), playerId: "p1", score: 50, occurredAt: recent(2) },
    ]);
    expect(worse).toMatchObject({ persisted: 1, changes: [] });
    const rows = await query<{ version: string; score: string }>(
      sql`select version::text, score::text from scores where board_id = ${board}`,
    );
    expect(rows).toEqual([{ version: "1", score: "90" }]);
  });

  it("a redelivered event is projected again even when a fresh event for the same record moves nothing", async () => {
    const board = await createBoard({ operator: "best", sortOrder: "desc", periods: ["all"] });
    const original = { id: eventId(), playerId: "p1", score: 90, occurredAt: recent(3) };
    await persist(board, [original]);
    // The first delivery committed; its projection may have failed. Now it comes again, next to
    // a fresh but worse score of the same player.
    const again = await persist(board, [
      original,
      { id: eventId(), playerId: "p1", score: 10, occurredAt: recent(1) },
    ]);
    expect(again).toMatchObject({ persisted: 1, duplicates: 1 });
    expect(again.changes).toMatchObject([
      { playerId: "p1", score: 90, version: 1, changed: false },
    ]);
  });

  it("a latest board ignores an older event, and an increment board moves on every fresh event", async () => {
    const latest = await createBoard({ operator: "latest", periods: ["all"] });
    await persist(latest, [{ id: eventId(), playerId: "p1", score: 5, occurredAt: recent(1) }]);
    expect(
      (await persist(latest, [{ id: eventId(), playerId: "p1", score: 7, occurredAt: recent(2) }]))
        .changes,
    ).toEqual([]);
    const increment = await persist(
      await createBoard({ operator: "increment", periods: ["all"] }),
      [{ id: eventId(), playerId: "p1", score: 0, occurredAt: recent(1) }],
    );
    expect(increment.changes).toMatchObject([{ playerId: "p1", score: 0, changed: true }]);
  });
});

describe("failures", () => {
  it("a poison message is dead-lettered with its reason while its neighbours land", async () => {
    const board = await createBoard({ operator: "increment" });
    const good = [scoreEvent(board, "a", 1, recent(1)), scoreEvent(board, "b", 2, recent(1))];
    const poisonId = uniqueId("poison");
    const result = await deliver([good[0], { kind: "event", id: 42, nonsense: true }, good[1]], {
      ids: ["g1", poisonId, "g2"],
    });
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(["g1", "g2", poisonId].sort());
    expect((await scoreRows(board)).map((r) => [r.player_id, r.score])).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
  });

  it("an event Postgres refuses is isolated by splitting the batch: only it is dead-lettered", async () => {
    const board = await createBoard({ operator: "increment" });
    const events = Array.from({ length: 7 }, (_, i) => scoreEvent(board, `p${i}`, 1, recent(1)));
    // A NUL character passes JSON and the schema but jsonb refuses it (SQLSTATE 22P05).
    const poison = scoreEvent(board, "bad", 1, recent(1), { metadata: { note: "a\u0000b" } });
    const ids = ["i0", "i1", "i2", "bad", "i3", "i4", "i5", "i6"];
    const result = await deliver([...events.slice(0, 3), poison, ...events.slice(3)], { ids });
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    const rows = await scoreRows(board);
    expect(rows.map((r) => r.player_id).sort()).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
  });

  it("a packed message (one request's events) lands whole; a poison event inside it is dead-lettered alone", async () => {
    const board = await createBoard({ operator: "increment" });
    const events = Array.from({ length: 9 }, (_, i) => scoreEvent(board, `q${i}`, 1, recent(1)));
    const { kind: _k, ...poison } = scoreEvent(board, "bad", 1, recent(1), {
      metadata: { note: "x\u0000y" },
    });
    const bodies = events.map(({ kind: _kind, ...rest }) => rest);
    const packed = {
      kind: "events",
      events: [...bodies.slice(0, 4), poison, ...bodies.slice(4)],
      rejected: 2,
    };
    const result = await deliver([packed], { ids: ["packed-1"] });
    expect(result.explicitAcks).toEqual(["packed-1"]);
    expect(result.retryMessages).toEqual([]);
    expect((await scoreRows(board)).map((r) => r.player_id).sort()).toEqual(
      events.map((e) => e.playerId).sort(),
    );
  });

  it("a database outage retries every message; once it is back nothing is lost or doubled", async () => {
    const board = await createBoard({ operator: "increment" });
    const events = [scoreEvent(board, "p1", 7, recent(2)), scoreEvent(board, "p2", 3, recent(2))];
    const down = { ...testEnv, DATABASE_URL: "postgres://postgres@127.0.0.1:1/down" };
    const first = await deliver(events, { env: down, ids: ["d1", "d2"] });
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages.map((m) => m.msgId).sort()).toEqual(["d1", "d2"]);
    const second = await deliver(events, { env: down, attempts: 2, ids: ["d1", "d2"] });
    expect(second.retryMessages.map((m) => m.msgId).sort()).toEqual(["d1", "d2"]);
    expect(await scoreRows(board)).toEqual([]);

    const recovered = await deliver(events, { attempts: 3, ids: ["d1", "d2"] });
    expect(recovered.explicitAcks.sort()).toEqual(["d1", "d2"]);
    await deliver(events, { attempts: 4, ids: ["d1", "d2"] });
    expect((await scoreRows(board)).map((r) => [r.player_id, r.score])).toEqual([
      ["p1", 7],
      ["p2", 3],
    ]);
  });

  it("events of a board deleted meanwhile are stored without moving any score", async () => {
    const board = await createBoard();
    const event = scoreEvent(board, "p1", 10, recent(1));
    await query(sql`delete from boards where id = ${board}`);
    const result = await deliver([event]);
    expect(result.explicitAcks).toHaveLength(1);
    const stored = await query<{ n: string }>(
      sql`select count(*) as n from events where event_id = ${event.id}`,
    );
    expect(Number(stored[0]?.n)).toBe(1);
  });
});
