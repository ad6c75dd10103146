import { z } from "@hono/zod-openapi";
import { boardPrizesProblem, isValidTimeZone, unstorableJson } from "../../domain";
import { BracketSchema } from "../tournaments/brackets";

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

/**
 * A board's settings without their defaults: POST adds the defaults, PATCH takes any subset of
 * them (so the two routes can never describe a field differently).
 */
const boardFields = {
  name: z.string().trim().min(1).max(200),
  sortOrder: z
    .enum(["desc", "asc"])
    .openapi({ description: "desc: higher is better; asc: lower is better" }),
  operator: z.enum(["best", "latest", "increment"]),
  periods: z.array(z.enum(["all", "daily", "weekly", "monthly"])).min(1),
  timeZone: z
    .string()
    .refine(isValidTimeZone, "must be an IANA time zone such as UTC or Europe/Berlin")
    .openapi({ example: "Europe/Berlin" }),
  weekStart: z.enum(["monday", "sunday"]),
  minScore: SafeInt,
  maxScore: SafeInt,
  scoreOverflow: z.enum(["reject", "clamp"]).openapi({
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
    .openapi({ description: "Entries kept sorted in the board's Durable Object" }),
  cacheTtlSeconds: z
    .number()
    .int()
    .min(1)
    .max(300)
    .openapi({ description: "Edge cache freshness of this board's pages" }),
  metadata: z.record(z.string(), z.unknown()),
  clientWrites: z.boolean().openapi({
    description:
      "false: server-authoritative, player tokens cannot move scores here " +
      "(only a server key with scores:write-any)",
  }),
  public: z.boolean().openapi({
    description: "false: reads need a player token or a server key with the read scope",
  }),
  prizes: z
    .array(BracketSchema)
    .max(100)
    .openapi({
      description:
        "Prize brackets awarded when each daily/weekly/monthly period ends (as a tournament's): " +
        "[{fromRank, toRank, reward}] or [{topPercent, reward}]; periods ending after they are set",
    }),
};

/** Postgres cannot store a NUL or a lone surrogate: refused with the field's path, not a 500. */
function refuseUnstorable(
  b: { name?: string | undefined; metadata?: Record<string, unknown> | null | undefined },
  ctx: z.RefinementCtx,
): void {
  const problem = unstorableJson({ name: b.name, metadata: b.metadata ?? undefined });
  if (problem)
    ctx.addIssue({
      code: "custom",
      message: problem,
      path: [problem.startsWith("metadata") ? "metadata" : "name"],
    });
}

export const CreateBoardSchema = z
  .object({
    id: BoardIdSchema,
    name: boardFields.name,
    sortOrder: boardFields.sortOrder.default("desc"),
    operator: boardFields.operator.default("best"),
    periods: boardFields.periods.default(["all"]),
    timeZone: boardFields.timeZone.default("UTC"),
    weekStart: boardFields.weekStart.default("monday"),
    minScore: boardFields.minScore.optional(),
    maxScore: boardFields.maxScore.optional(),
    scoreOverflow: boardFields.scoreOverflow.default("reject"),
    maxIncrement: boardFields.maxIncrement.optional(),
    maxScoreEventsPerMinute: boardFields.maxScoreEventsPerMinute.optional(),
    topSize: boardFields.topSize.default(1000),
    cacheTtlSeconds: boardFields.cacheTtlSeconds.default(2),
    metadata: boardFields.metadata.optional(),
    clientWrites: boardFields.clientWrites.default(true),
    public: boardFields.public.default(true),
    prizes: boardFields.prizes.default([]),
  })
  .superRefine(refuseUnstorable)
  .superRefine((b, ctx) => {
    const problem = boardPrizesProblem(b.periods, b.prizes);
    if (problem) ctx.addIssue({ code: "custom", message: problem, path: ["prizes"] });
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

/**
 * PATCH /v1/admin/boards/:board: the fields to change, the others left as they are; null clears an
 * optional one. Unknown fields are refused, so a misspelt one is not silently ignored.
 */
export const UpdateBoardSchema = z
  .object({
    name: boardFields.name.optional(),
    sortOrder: boardFields.sortOrder.optional(),
    operator: boardFields.operator.optional(),
    periods: boardFields.periods.optional(),
    timeZone: boardFields.timeZone.optional(),
    weekStart: boardFields.weekStart.optional(),
    minScore: boardFields.minScore.nullable().optional(),
    maxScore: boardFields.maxScore.nullable().optional(),
    scoreOverflow: boardFields.scoreOverflow.optional(),
    maxIncrement: boardFields.maxIncrement.nullable().optional(),
    maxScoreEventsPerMinute: boardFields.maxScoreEventsPerMinute.nullable().optional(),
    topSize: boardFields.topSize.optional(),
    cacheTtlSeconds: boardFields.cacheTtlSeconds.optional(),
    metadata: boardFields.metadata.nullable().optional(),
    clientWrites: boardFields.clientWrites.optional(),
    public: boardFields.public.optional(),
    prizes: boardFields.prizes.optional(),
  })
  .strict()
  .superRefine(refuseUnstorable)
  .openapi("UpdateBoard", {
    description:
      "sortOrder, operator, periods, timeZone and weekStart change only while the board has no " +
      "records (409 CONFLICT after): they decide how every stored record was combined and keyed",
  });

export const BoardListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "nextCursor of the previous page; absent: the first page" }),
  includeArchived: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ description: "true: archived boards are listed too (with archivedAt)" }),
});

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
    prizes: z.array(z.record(z.string(), z.unknown())),
    createdAt: z.string(),
    archivedAt: z.string().optional().openapi({
      description: "When the board was archived (reads answer 410); absent: live",
    }),
  })
  .openapi("Board");

export const BoardListSchema = z
  .object({
    boards: z.array(BoardSchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as cursor for the next page; null: this is the last" }),
  })
  .openapi("BoardList");
