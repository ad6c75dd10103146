import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { createBoard, eventId, scoreRows, testEnv, uniqueId } from "../helpers/factories";

describe("the queue handler", () => {
  it("retries a batch from a queue it does not know, whole, touching nothing", async () => {
    const board = await createBoard();
    const ids = [uniqueId("m"), uniqueId("m")];
    const batch = createMessageBatch(
      "edgeboard-misnamed",
      ids.map((id, i) => ({
        id,
        timestamp: new Date(),
        attempts: 1,
        body: {
          kind: "event",
          id: eventId(),
          type: "score",
          playerId: `q${i}`,
          boardId: board,
          score: 7,
          occurredAt: Date.now() - 1_000,
          receivedAt: Date.now(),
        },
      })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv, ctx);
    expect(await getQueueResult(batch, ctx)).toEqual({
      outcome: "ok",
      ackAll: false,
      retryBatch: { retry: true },
      explicitAcks: [],
      retryMessages: [],
    });
    expect(await scoreRows(board)).toEqual([]);
  });
});
