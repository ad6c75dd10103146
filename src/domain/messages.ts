import { z } from "zod";

/** One accepted event, as validated by POST /v1/events (times are epoch milliseconds). */
const EventBodySchema = z.object({
  id: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  playerId: z.string().min(1).max(128),
  occurredAt: z.number().int(),
  receivedAt: z.number().int(),
  boardId: z.string().min(1).max(64).optional(),
  tournamentId: z.string().min(1).max(64).optional(),
  /** A tournament event's instance key: its board-period, decided at acceptance (not by periods). */
  periodKey: z.string().min(1).max(64).optional(),
  score: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
  // Looser than the edge's bounds (domain/displayed-fields.ts): a message already queued under
  // older bounds is still delivered, not dead-lettered.
  displayName: z.string().max(64).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  payload: z.record(z.string(), z.unknown()).optional(),
});
export type EventBody = z.infer<typeof EventBodySchema>;

/**
 * What travels on the queues. Every message is schema-checked by the consumer: a body that does
 * not parse is poison (acked and dead-lettered with the reason), never retried.
 *
 * The events of one request travel packed in one message (up to 100 events, under the 128 KB
 * message limit) rather than one message each: a queue moves at most 5,000 messages per second,
 * and per-message overhead (broker, serialisation, acks) would otherwise dominate. Events stay
 * individually idempotent, so retrying a whole message is always safe. `rejected` carries the
 * count of items the request refused, for the ingest stats.
 */
const EventsMessageSchema = z.object({
  kind: z.literal("events"),
  events: z.array(EventBodySchema).max(100),
  rejected: z.number().int().min(0).optional(),
});
export type EventsMessage = z.infer<typeof EventsMessageSchema>;

/**
 * A single event: how the consumer dead-letters (and replays) one poison event of a packed message.
 */
const EventMessageSchema = EventBodySchema.extend({ kind: z.literal("event") });
export type EventMessage = z.infer<typeof EventMessageSchema>;

export const IngestMessageSchema = z.discriminatedUnion("kind", [
  EventsMessageSchema,
  EventMessageSchema,
]);

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
