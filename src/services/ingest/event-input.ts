import { z } from "@hono/zod-openapi";
import {
  DISPLAY_NAME_MAX_CHARS,
  displayNameProblem,
  METADATA_MAX_BYTES,
  METADATA_MAX_DEPTH,
  METADATA_MAX_KEYS,
  metadataProblem,
} from "../../domain";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$/;

/** A domain rule's refusal as an issue at the field's path (the per-item message names it). */
function refuse(ctx: z.RefinementCtx, problem: string | null): void {
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}

/** One event as a client sends it. Score range, board and time window are checked after parsing. */
export const EventInputSchema = z
  .object({
    id: z
      .string()
      .refine(
        (id) => UUID.test(id) || ULID.test(id),
        "must be a UUID or a ULID chosen by the client (it makes retries safe)",
      )
      .openapi({ example: "01JD3M8Y7W2Q5V0R9S4T6X8Z1A" }),
    type: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/,
        "1-64 characters: a letter, then letters, digits, '_', '.', ':', '-'",
      )
      .openapi({ example: "game_ended" }),
    playerId: z
      .string()
      .regex(/^[A-Za-z0-9_.:@|-]{1,128}$/, "1-128 characters: letters, digits and _ . : @ | -")
      .openapi({ example: "player-42" }),
    occurredAt: z.iso
      .datetime({
        offset: true,
        message: "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-22T10:00:00Z",
      })
      .openapi({
        description:
          "When it happened on the device: places the event in its daily/weekly/monthly period. " +
          "Ties on a board are broken by when the server accepted the event (reachedAt), " +
          "never by this, so backdating wins nothing.",
      }),
    boardId: z.string().min(1).max(64).optional(),
    tournamentId: z.string().min(1).max(64).optional(),
    score: z
      .number()
      .optional()
      .openapi({ description: "Integer; required when boardId is given" }),
    displayName: z
      .string()
      .trim()
      .superRefine((name, ctx) => refuse(ctx, displayNameProblem(name)))
      .optional()
      .openapi({
        description:
          `Shown on every page: 1-${DISPLAY_NAME_MAX_CHARS} characters after trimming, ` +
          "no control or bidi override characters, no < or >",
        example: "Alice",
      }),
    metadata: z
      .record(z.string(), z.unknown())
      .superRefine((metadata, ctx) => refuse(ctx, metadataProblem(metadata)))
      .optional()
      .openapi({
        description:
          "Stored on the score record it sets and shown on every page: " +
          `at most ${METADATA_MAX_BYTES} bytes of JSON, ` +
          `${METADATA_MAX_KEYS} keys (nested ones included) and ${METADATA_MAX_DEPTH} levels`,
      }),
    payload: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "Free-form analytics data" }),
  })
  .openapi("Event");
export type EventInput = z.infer<typeof EventInputSchema>;
