import { z } from "zod";

/**
 * What travels on the queues. Every message is schema-checked by the consumer: a body that does
 * not parse is poison (acked and dead-lettered with the reason), never retried.
 */
export const EventMessageSchema = z.object({
  kind: z.literal("event"),
  id: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  playerId: z.string().min(1).max(128),
  /** Epoch milliseconds. */
  occurredAt: z.number().int(),
  receivedAt: z.number().int(),
  boardId: z.string().min(1).max(64).optional(),
  tournamentId: z.string().min(1).max(64).optional(),
  score: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
  displayName: z.string().max(64).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  payload: z.record(z.string(), z.unknown()).optional(),
});
export type EventMessage = z.infer<typeof EventMessageSchema>;

/** Per-request count of items POST /v1/events refused; feeds the ingest stats. */
export const RejectionsMessageSchema = z.object({
  kind: z.literal("rejections"),
  count: z.number().int().min(1),
  at: z.number().int(),
});
export type RejectionsMessage = z.infer<typeof RejectionsMessageSchema>;

export const IngestMessageSchema = z.discriminatedUnion("kind", [EventMessageSchema, RejectionsMessageSchema]);
export type IngestMessage = z.infer<typeof IngestMessageSchema>;

/**
 * What the consumer sends to the dead-letter queue itself: the original body plus why it died.
 * Messages the platform moves there after max_retries arrive bare (without this envelope).
 */
export const DeadLetterSchema = z.object({
  kind: z.literal("dead_letter"),
  queue: z.string(),
  messageId: z.string(),
  attempts: z.number().int(),
  error: z.string(),
  body: z.unknown(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** Which consumer a queue name belongs to; names carry the environment (edgeboard-staging-...). */
export type QueueRole = "scores" | "analytics" | "dead_letters";

export function queueRole(queueName: string): QueueRole | null {
  if (queueName.endsWith("-score-events")) return "scores";
  if (queueName.endsWith("-analytics-events")) return "analytics";
  if (queueName.endsWith("-dead-letters")) return "dead_letters";
  return null;
}
