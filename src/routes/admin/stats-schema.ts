import { z } from "@hono/zod-openapi";
import { ROLLUP_SPANS } from "../../domain";
import { BoardIdSchema } from "../boards/schema";

export const StatsQuerySchema = z.object({
  granularity: z.enum(ROLLUP_SPANS).default("hour"),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({
      description:
        "Start (ISO 8601), rounded down to its hour or UTC day; default: 24 hours (hour) or 30 " +
        "days (day) before `to`",
    }),
  to: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "End, exclusive (ISO 8601); default: now" }),
  // The forms POST /v1/events accepts: anything else names no rollup (and a NUL could not be
  // sent to Postgres).
  type: z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/,
      "an event type: a letter, then letters, digits, _ . : -",
    )
    .optional()
    .openapi({ description: "Only this event type's series" }),
  board: BoardIdSchema.optional().openapi({ description: "Only this board's series" }),
});

const FiguresShape = {
  events: z.number().int(),
  players: z.number().int().openapi({ description: "Distinct players in the bucket, exact" }),
  scoreEvents: z.number().int().openapi({ description: "Events carrying a score" }),
  scoreSum: z
    .string()
    .openapi({ description: "Sum of the scores, in decimal digits (it may pass 2^53)" }),
  scoreMax: z.number().int().nullable().openapi({ description: "Null: no score event" }),
};

export const StatsSchema = z
  .object({
    granularity: z.enum(ROLLUP_SPANS),
    from: z.string(),
    to: z.string(),
    generatedAt: z.string(),
    rolledUpTo: z.string().nullable().openapi({
      description:
        "Every event stored before this instant is counted, none after it (null: no run yet)",
    }),
    partialFrom: z.string().nullable().openapi({
      description: "The bucket holding rolledUpTo: its figures and later ones are partial",
    }),
    openFrom: z.string().nullable().openapi({
      description:
        "Buckets from this one on may still grow with late events (the acceptance window)",
    }),
    lastRunAt: z.string().nullable(),
    caughtUp: z.boolean().openapi({
      description: "The last run reached the present; false: a backlog is being worked off",
    }),
    truncated: z.boolean().openapi({ description: "More rows than one answer carries: narrow it" }),
    overall: z
      .array(z.object({ bucket: z.string(), ...FiguresShape }))
      .openapi({ description: "Per bucket, every event: players are the active players" }),
    series: z
      .array(
        z.object({
          bucket: z.string(),
          type: z.string(),
          board: z.string().nullable(),
          ...FiguresShape,
        }),
      )
      .openapi({ description: "Per bucket, event type and board (null: events without one)" }),
  })
  .openapi("Stats");
