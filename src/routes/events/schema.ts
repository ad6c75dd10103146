import { z } from "@hono/zod-openapi";
import { REJECTION_CODES } from "../../domain/rejection-codes";
import { EventInputSchema } from "../../services/ingest/event-input";

export const IngestRequestSchema = z
  .union([z.object({ events: z.array(z.unknown()) }), EventInputSchema])
  .openapi("IngestRequest", {
    description: "One event, or {events: [...]} (at most EVENTS_MAX_BATCH)",
  });

export const IngestResponseSchema = z
  .object({
    accepted: z.number().int(),
    rejected: z.array(
      z.object({
        index: z.number().int(),
        error: z.object({
          code: z.enum(REJECTION_CODES).openapi({
            example: "UNKNOWN_BOARD",
            description:
              "FORBIDDEN: the credential may not write this player's score or this board; " +
              "INCREMENT_TOO_LARGE: a step beyond the board's maxIncrement; " +
              "TOO_MANY_SCORE_EVENTS: beyond the board's maxScoreEventsPerMinute for the player " +
              "(retry after the minute); " +
              "BOARD_ARCHIVED: the board was archived (DELETE /v1/admin/boards/:board); " +
              "PLAYER_BANNED: the player is banned (POST /v1/admin/players/:player/ban); " +
              "the others name the field or rule the event broke",
          }),
          message: z.string(),
        }),
      }),
    ),
  })
  .openapi("IngestResponse");
