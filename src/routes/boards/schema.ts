import { z } from "@hono/zod-openapi";
import { isValidTimeZone, unstorableJson } from "../../domain";

export const BoardIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    "1-64 characters: letters, digits, '_', '.', '-' (not first)",
  )
  .openapi({ example: "global-highscore" });

const SafeInt = z
  .number()
  .int("must be an integer")
  .min(Number.MIN_SAFE_INTEGER)
  .max(Number.MAX_SAFE_INTEGER);

export const CreateBoardSchema = z
  .object({
    id: BoardIdSchema,
    name: z.string().trim().min(1).max(200),
    sortOrder: z
      .enum(["desc", "asc"])
      .default("desc")
      .openapi({ description: "desc: higher is better; asc: lower is better" }),
    operator: z.enum(["best", "latest", "increment"]).default("best"),
    periods: z
      .array(z.enum(["all", "daily", "weekly", "monthly"]))
      .min(1)
      .default(["all"]),
    timeZone: z
      .string()
      .default("UTC")
      .refine(isValidTimeZone, "must be an IANA time zone such as UTC or Europe/Berlin")
      .openapi({ example: "Europe/Berlin" }),
    weekStart: z.enum(["monday", "sunday"]).default("monday"),
    minScore: SafeInt.optional(),
    maxScore: SafeInt.optional(),
    scoreOverflow: z
      .enum(["reject", "clamp"])
      .default("reject")
      .openapi({
        description:
          "What an increment that would take a record outside minScore..maxScore " +
          "(or the safe-integer range) does: " +
          "reject (the record is left as it is and the events are listed in the ingest stats) " +
          "or clamp (the record stops at the bound)",
      }),
    maxIncrement: z
      .number()
      .int("must be an integer")
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .openapi({
        description:
          "increment boards only: the largest step (in absolute value) one event may add; " +
          "a larger one is rejected per item with INCREMENT_TOO_LARGE, never clipped. " +
          "Absent: any step within the score range",
        example: 1000,
      }),
    maxScoreEventsPerMinute: z
      .number()
      .int("must be an integer")
      .min(1)
      .max(10_000)
      .optional()
      .openapi({
        description:
          "Most score events one player may send to this board per minute " +
          "(fixed windows of the server clock); " +
          "the excess is rejected per item with TOO_MANY_SCORE_EVENTS. " +
          "Counted across the deployment in Redis; without Redis (or while it fails) " +
          "each server instance counts on its own, so the limit is weaker. " +
          "Absent: no limit",
        example: 60,
      }),
    topSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .openapi({ description: "Entries kept sorted in the board's Durable Object" }),
    cacheTtlSeconds: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(2)
      .openapi({ description: "Edge cache freshness of this board's pages" }),
    metadata: z.record(z.string(), z.unknown()).optional(),
    clientWrites: z
      .boolean()
      .default(true)
      .openapi({
        description:
          "false: server-authoritative, player tokens cannot move scores here " +
          "(only a server key with scores:write-any)",
      }),
    public: z.boolean().default(true).openapi({
      description: "false: reads need a player token or a server key with the read scope",
    }),
  })
  // Postgres cannot store a NUL or a lone surrogate: refused here with the field's path, not a 500.
  .superRefine((b, ctx) => {
    const problem = unstorableJson({ name: b.name, metadata: b.metadata });
    if (problem)
      ctx.addIssue({
        code: "custom",
        message: problem,
        path: [problem.startsWith("metadata") ? "metadata" : "name"],
      });
  })
  .refine((b) => b.minScore === undefined || b.maxScore === undefined || b.minScore <= b.maxScore, {
    message: "minScore must not exceed maxScore",
    path: ["minScore"],
  })
  // A step limit on a best/latest board would be silently meaningless: refused so the intent is not
  // lost.
  .refine((b) => b.maxIncrement === undefined || b.operator === "increment", {
    message: 'maxIncrement applies only to boards with operator "increment"',
    path: ["maxIncrement"],
  })
  .openapi("CreateBoard");

export const BoardSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    sortOrder: z.enum(["desc", "asc"]),
    operator: z.enum(["best", "latest", "increment"]),
    periods: z.array(z.enum(["all", "daily", "weekly", "monthly"])),
    timeZone: z.string(),
    weekStart: z.enum(["monday", "sunday"]),
    minScore: z.number().optional(),
    maxScore: z.number().optional(),
    scoreOverflow: z.enum(["reject", "clamp"]),
    maxIncrement: z
      .number()
      .optional()
      .openapi({ description: "Largest step one event may add (increment boards); absent: none" }),
    maxScoreEventsPerMinute: z.number().optional().openapi({
      description: "Most score events per player per minute on this board; absent: no limit",
    }),
    topSize: z.number(),
    cacheTtlSeconds: z.number(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    clientWrites: z.boolean(),
    public: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("Board");
