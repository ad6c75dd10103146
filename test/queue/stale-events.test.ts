import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/domain/messages";
import worker from "../../src/index";
import {
  createBoard,
  eventId,
  eventually,
  query,
  scoreRows,
  testEnv,
  uniqueId,
} from "../helpers/factories";

const SCORE_QUEUE = "edgeboard-score-events";
const DAY_MS = 86_400_000;

/** A score event that occurred `ageMs` ago and was accepted a minute later (a backlog or a replay). */
function agedEvent(boardId: string, score: number, ageMs: number): EventMessage {
  const occurredAt = Date.now() - ageMs;
  return {
    kind: "event",
    id: eventId(),
    type: "score",
    playerId: "late",
    boardId,
    score,
    occurredAt,
    receivedAt: occurredAt + 60_000,
  };
}

/** Delivers one message per event to the real queue handler, as one batch. */
async function deliver(events: EventMessage[], messageIds: string[]) {
  const batch = createMessageBatch(
    SCORE_QUEUE,
    events.map((body, i) => ({
      id: messageIds[i] ?? uniqueId("stale-msg"),
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv, ctx);
  return getQueueResult(batch, ctx);
}

const stored = (id: string) =>
  query<{ n: string }>(sql`select
      (select count(*) from events where event_id = ${id}) +
      (select count(*) from event_ids where event_id = ${id}) as n`).then((r) => Number(r[0]?.n));

// Past the dedupe horizon (IDEMPOTENCY_WINDOW_DAYS - 1 = 9 days) an event's event_ids day may be
// dropped, so a retry of it could be counted twice: the consumer dead-letters it unwritten.
describe("the consumer refuses events past the dedupe horizon", () => {
  it("dead-letters an event 9 days and an hour old, and persists one 8 days old once", async () => {
    const board = await createBoard({ operator: "increment", periods: ["all"] });
    // Its event_ids day still exists (the window is 10 days): only the age check keeps it out.
    const stale = agedEvent(board, 100, 9 * DAY_MS + 3_600_000);
    const eightDays = agedEvent(board, 7, 8 * DAY_MS);
    const ids = [uniqueId("stale-msg"), uniqueId("stale-msg")];

    const result = await deliver([stale, eightDays], ids);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());

    // Neither the stale event nor its id is written; the 8-day-old one has both.
    expect(await stored(stale.id)).toBe(0);
    expect(await stored(eightDays.id)).toBe(2);
    expect((await scoreRows(board)).map((r) => [r.player_id, r.score])).toEqual([["late", 7]]);

    // The dead-letter queue's own consumer records it (it batches for up to 5 s).
    const letters = await eventually(
      async () => {
        const rows = await query<{ message_id: string; error: string }>(
          sql`select message_id, error from dead_letters where body::text like ${`%${board}%`}`,
        );
        return rows.length > 0 ? rows : undefined;
      },
      20_000,
      "the stale event's dead letter",
    );
    expect(letters).toEqual([
      { message_id: `${ids[0]}/${stale.id}`, error: expect.stringMatching(/more than 9 days ago/) },
    ]);

    // A redelivery of the 8-day-old event is a duplicate: still counted once.
    expect((await deliver([eightDays], [ids[1] ?? ""])).retryMessages).toEqual([]);
    expect((await scoreRows(board)).map((r) => [r.player_id, r.score])).toEqual([["late", 7]]);
    expect(await stored(eightDays.id)).toBe(2);
  });
});
