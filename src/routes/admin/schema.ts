import { z } from "@hono/zod-openapi";

const DeadLetterSchema = z
  .object({
    id: z.number().int(),
    queue: z.string(),
    messageId: z.string(),
    error: z.string(),
    attempts: z.number().int(),
    receivedAt: z.string(),
    body: z.unknown(),
  })
  .openapi("DeadLetter");

export const DeadLetterListSchema = z
  .object({ total: z.number().int(), deadLetters: z.array(DeadLetterSchema) })
  .openapi("DeadLetterList");

export const ReplayRequestSchema = z
  .object({
    ids: z
      .array(z.number().int().positive())
      .max(1000)
      .optional()
      .openapi({ description: "Dead letters to replay; default: the oldest `limit`" }),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .openapi("ReplayRequest");

export const ReplayResponseSchema = z
  .object({
    replayed: z.number().int(),
    skipped: z.array(z.object({ id: z.number().int(), reason: z.string() })),
  })
  .openapi("ReplayResponse");

const QueueStatsSchema = z.object({
  queue: z.string(),
  persisted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.number().int(),
  outOfRange: z
    .number()
    .int()
    .openapi({
      description:
        "Accepted events the batch refused because they would take a record out of its board's " +
        "bounds (listed in recentRefusals)",
    }),
  accepted: z
    .number()
    .int()
    .openapi({ description: "persisted + duplicates: every accepted event reaches the consumer" }),
  batches: z.number().int(),
  avgBatchSize: z.number(),
  lagMsAvg: z.number().openapi({ description: "Mean time from acceptance to commit" }),
  lagMsMax: z.number(),
  lastBatchAt: z.string().nullable(),
});

export const IngestStatsSchema = z
  .object({
    windowHours: z.number().int(),
    queues: z.array(QueueStatsSchema),
    deadLettersPending: z.number().int(),
    recentRefusals: z
      .array(
        z.object({
          eventId: z.string(),
          boardId: z.string(),
          playerId: z.string(),
          code: z.string(),
          score: z.number().nullable(),
          at: z.string(),
        }),
      )
      .openapi({
        description: "The newest accepted events refused by their board's bounds (at most 20)",
      }),
    consumerLagMs: z
      .number()
      .nullable()
      .openapi({ description: "Time since the last committed batch (null: none yet)" }),
  })
  .openapi("IngestStats");
