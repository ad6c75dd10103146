import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import type { AppBindings } from "../../src/env";
import worker from "../../src/index";
import { eventId, testEnv, uniqueId } from "./factories";

/** One queue message per score event for `board`, as POST /v1/events queues them. */
export function scoreMessages(
  board: string,
  scores: Array<[playerId: string, score: number]>,
  occurredAt = Date.now() - 30_000,
) {
  return scores.map(([playerId, score]) => ({
    id: uniqueId("score-message"),
    timestamp: new Date(),
    attempts: 1,
    body: {
      kind: "event",
      id: eventId(),
      type: "score",
      playerId,
      boardId: board,
      score,
      occurredAt,
      receivedAt: Date.now(),
    },
  }));
}

/**
 * Score events for `board` through the real queue handler, one message each (Postgres, the
 * Durable Object and Redis, all awaited): what the rank and reload tests start from. Returns the
 * batch's outcome (retried and acknowledged messages).
 */
export async function consumeScores(
  board: string,
  scores: Array<[playerId: string, score: number]>,
  options: { env?: AppBindings; occurredAt?: number } = {},
) {
  const batch = createMessageBatch(
    "edgeboard-score-events",
    scoreMessages(board, scores, options.occurredAt),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, options.env ?? testEnv, ctx);
  return getQueueResult(batch, ctx);
}
