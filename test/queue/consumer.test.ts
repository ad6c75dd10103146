import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { createBoard, scoreRows, testEnv } from "../helpers/factories";
import { scoreMessages } from "../helpers/score-queue";

describe("the queue handler", () => {
  it("retries a batch from a queue it does not know, whole, touching nothing", async () => {
    const board = await createBoard();
    const batch = createMessageBatch(
      "edgeboard-misnamed",
      scoreMessages(board, [
        ["q0", 7],
        ["q1", 7],
      ]),
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
