import { describe, expect, it } from "vitest";
import { deadLetter } from "../../src/queue/dead-letter";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  scoreRows,
  testEnv,
} from "../helpers/factories";

describe("POST /v1/admin/dlq/replay", () => {
  it("replays letters of full messages in sendBatch calls under 256 KB, each event landing once", async () => {
    const board = await createBoard({ operator: "increment" });
    // Five letters of 100 events with ~500 B of metadata each (~80 KB apiece, ~400 KB in all):
    // one sendBatch of all five is over the queue's 256 KB and is refused.
    const note = "x".repeat(480);
    const tag = eventId();
    for (let letter = 0; letter < 5; letter++) {
      const events = Array.from({ length: 100 }, (_, i) => ({
        id: eventId(),
        type: "score",
        playerId: `p${letter}-${i}`,
        occurredAt: Date.now() - 1_000,
        receivedAt: Date.now(),
        boardId: board,
        score: 1,
        metadata: { note },
      }));
      await deadLetter(testEnv, {
        queue: "edgeboard-score-events",
        messageId: `big-${tag}-${letter}`,
        attempts: 12,
        error: "retries exhausted: test",
        body: { kind: "events", events },
      });
    }
    const ids = await eventually(async () => {
      const body = (await (await api("/v1/admin/dlq?limit=1000", { headers: ADMIN })).json()) as {
        deadLetters: Array<{ id: number; messageId: string }>;
      };
      const mine = body.deadLetters.filter((d) => d.messageId.startsWith(`big-${tag}-`));
      return mine.length === 5 ? mine.map((d) => d.id) : undefined;
    });
    const replay = await api("/v1/admin/dlq/replay", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ ids }),
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ replayed: 5, skipped: [] });
    const rows = await eventually(async () => {
      const all = await scoreRows(board);
      return all.length === 500 ? all : undefined;
    }, 30_000);
    expect(rows.every((row) => row.score === 1)).toBe(true);
  });
});
