import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../../src/stores/postgres/client";
import { type EventRow, persistBatch } from "../../../src/stores/postgres/persist-batch";
import { createBoard, eventId, query, testEnv } from "../../helpers/factories";

const DAY_MS = 86_400_000;

/** One score event of `boardId` as the consumer hands it to Postgres. */
function row(id: string, boardId: string, occurredAt: number, receivedAt: number): EventRow {
  return {
    event_id: id,
    received_at: new Date(receivedAt).toISOString(),
    occurred_at: new Date(occurredAt).toISOString(),
    type: "score",
    player_id: "retrier",
    board_id: boardId,
    tournament_id: null,
    score: 5,
    display_name: null,
    metadata: null,
    payload: null,
  };
}

describe("event_ids: daily partitions keyed by the occurred day", () => {
  it("deduplicates a retry of the same event on the next day (a new receivedAt, the same body)", async () => {
    const boardId = await createBoard({ operator: "increment", periods: ["all"] });
    const id = eventId();
    // Occurred in the last millisecond of yesterday (UTC); first accepted then, retried today.
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const occurredAt = today - 1;
    const contributions = [{ event_id: id, board_id: boardId, period_key: "all" }];
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      const first = await persistBatch(
        handle.db,
        "scores",
        [row(id, boardId, occurredAt, occurredAt)],
        contributions,
      );
      expect([first.persisted, first.duplicates]).toEqual([1, 0]);
      const retry = await persistBatch(
        handle.db,
        "scores",
        [row(id, boardId, occurredAt, Date.now())],
        contributions,
      );
      expect([retry.persisted, retry.duplicates]).toEqual([0, 1]);
    } finally {
      await handle.close();
    }
    // Counted once on an increment board, and remembered in yesterday's partition.
    const scores = await query<{ score: string }>(
      sql`select score from scores where board_id = ${boardId} and player_id = 'retrier'`,
    );
    expect(scores.map((s) => Number(s.score))).toEqual([5]);
    const kept = await query<{ part: string; day: string }>(
      sql`select tableoid::regclass::text as part, occurred_day::text as day
          from event_ids where event_id = ${id}`,
    );
    const yesterday = new Date(occurredAt).toISOString().slice(0, 10);
    expect(kept).toEqual([{ part: `event_ids_${yesterday.replaceAll("-", "")}`, day: yesterday }]);
  });
});
