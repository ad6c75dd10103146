import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { counters } from "../../src/lib/metrics";
import type { IngestReply } from "../helpers/factories";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  query,
  scoreRows,
  uniqueId,
} from "../helpers/factories";

const iso = () => new Date(Date.now() - 1000).toISOString();

async function postBoard(body: Record<string, unknown>) {
  const res = await api("/v1/admin/boards", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({ name: "Sanity", ...body }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & {
      error?: { code: string; message: string };
    },
  };
}

/** Event ids of a board as the consumer stored them in Postgres. */
async function storedEventIds(board: string): Promise<string[]> {
  const rows = await query<{ event_id: string }>(
    sql`select event_id from events where board_id = ${board} order by event_id`,
  );
  return rows.map((r) => r.event_id);
}

describe("board sanity rules: definitions", () => {
  it("maxIncrement and maxScoreEventsPerMinute round-trip through POST and GET, and are absent when not set", async () => {
    const id = uniqueId("sane");
    const created = await postBoard({
      id,
      operator: "increment",
      maxIncrement: 500,
      maxScoreEventsPerMinute: 30,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id,
      operator: "increment",
      maxIncrement: 500,
      maxScoreEventsPerMinute: 30,
    });
    const read = (await (await api(`/v1/boards/${id}`)).json()) as Record<string, unknown>;
    expect(read).toMatchObject({ maxIncrement: 500, maxScoreEventsPerMinute: 30 });

    const plain = await createBoard();
    const view = (await (await api(`/v1/boards/${plain}`)).json()) as Record<string, unknown>;
    expect(view).not.toHaveProperty("maxIncrement");
    expect(view).not.toHaveProperty("maxScoreEventsPerMinute");

    const best = await postBoard({
      id: uniqueId("sane"),
      operator: "best",
      maxScoreEventsPerMinute: 10_000,
    });
    expect(best.status).toBe(201);
    expect(best.body).toMatchObject({ maxScoreEventsPerMinute: 10_000 });
  });

  it("refuses maxIncrement on a best or latest board (also by default operator) with 400 VALIDATION_FAILED naming the field", async () => {
    for (const operator of ["best", "latest", undefined]) {
      const res = await postBoard({
        id: uniqueId("sane"),
        maxIncrement: 10,
        ...(operator ? { operator } : {}),
      });
      expect([operator, res.status]).toEqual([operator, 400]);
      expect(res.body.error?.code).toBe("VALIDATION_FAILED");
      expect(res.body.error?.message).toContain("maxIncrement");
    }
  });

  it("are documented in the OpenAPI document, with both rejection codes", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      components: {
        schemas: Record<string, { properties: Record<string, { description?: string }> }>;
      };
    };
    const create = doc.components.schemas.CreateBoard?.properties ?? {};
    expect(create.maxIncrement?.description).toContain("INCREMENT_TOO_LARGE");
    expect(create.maxScoreEventsPerMinute?.description).toContain("TOO_MANY_SCORE_EVENTS");
    expect(create.maxScoreEventsPerMinute?.description).toContain("weaker");
    expect(doc.components.schemas.Board?.properties).toHaveProperty("maxScoreEventsPerMinute");
    const ingest = JSON.stringify(doc.components.schemas.IngestResponse);
    for (const code of ["UNSTORABLE_TEXT", "INCREMENT_TOO_LARGE", "TOO_MANY_SCORE_EVENTS"])
      expect(ingest).toContain(code);
  });

  it("refuses out-of-range values with 400", async () => {
    const bad = [
      { operator: "increment", maxIncrement: 0 },
      { operator: "increment", maxIncrement: -5 },
      { operator: "increment", maxIncrement: 1.5 },
      { operator: "increment", maxIncrement: Number.MAX_SAFE_INTEGER + 2 },
      { maxScoreEventsPerMinute: 0 },
      { maxScoreEventsPerMinute: 10_001 },
      { maxScoreEventsPerMinute: 2.5 },
      { maxScoreEventsPerMinute: "5" },
    ];
    for (const fields of bad) {
      const res = await postBoard({ id: uniqueId("sane"), ...fields });
      expect([fields, res.status, res.body.error?.code]).toEqual([
        fields,
        400,
        "VALIDATION_FAILED",
      ]);
    }
  });
});

describe("board sanity rules: INCREMENT_TOO_LARGE", () => {
  it("accepts steps up to maxIncrement either way, rejects one beyond (never clipped), and never stores a rejected event", async () => {
    const board = await createBoard({ operator: "increment", maxIncrement: 100, periods: ["all"] });
    const before = counters.rejectedIncrementTooLarge;
    const events = [100, -100, 101, -101, 1, 9_000].map((score) => ({
      id: eventId(),
      type: "points",
      playerId: "stepper",
      occurredAt: iso(),
      boardId: board,
      score,
    }));
    const res = await postEvents(events);
    expect(res.status).toBe(202);
    const body = (await res.json()) as IngestReply;
    expect(body.accepted).toBe(3);
    expect(body.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [2, "INCREMENT_TOO_LARGE"],
      [3, "INCREMENT_TOO_LARGE"],
      [5, "INCREMENT_TOO_LARGE"],
    ]);
    expect(body.rejected[0]?.error.message).toContain("maxIncrement of 100");
    expect(counters.rejectedIncrementTooLarge - before).toBe(3);

    // 100 - 100 + 1: the refused steps moved nothing, not even clipped to 100.
    await eventually(
      async () => ((await storedEventIds(board)).length === 3 ? true : undefined),
      15_000,
      "the accepted events",
    );
    expect(await storedEventIds(board)).toEqual(
      [events[0], events[1], events[4]].map((e) => e?.id).sort(),
    );
    expect((await scoreRows(board)).map((r) => r.score)).toEqual([1]);

    const metrics = (await (await api("/v1/admin/metrics", { headers: ADMIN })).json()) as Record<
      string,
      number
    >;
    expect(metrics.rejectedIncrementTooLarge).toBeGreaterThanOrEqual(3);
    expect(metrics).toHaveProperty("rejectedTooManyScoreEvents");
  });

  it("a board without maxIncrement takes any step within its range", async () => {
    const board = await createBoard({ operator: "increment" });
    const res = await postEvents({
      id: eventId(),
      type: "points",
      playerId: "big",
      occurredAt: iso(),
      boardId: board,
      score: 1e12,
    });
    expect(await res.json()).toEqual({ accepted: 1, rejected: [] });
  });
});
