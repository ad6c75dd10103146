import { z } from "@hono/zod-openapi";
import { BoardIdSchema } from "../boards/schema";

export const PlayerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:@|-]{1,128}$/, "1-128 characters: letters, digits and _ . : @ | -");

export const BoardParamsSchema = z.object({ board: BoardIdSchema });
export const PlayerParamsSchema = z.object({ board: BoardIdSchema, player: PlayerIdSchema });

export const PeriodQuerySchema = z.object({
  period: z
    .enum(["all", "daily", "weekly", "monthly"])
    .optional()
    .openapi({ description: "Default: all (or the board's first period)" }),
  at: z
    .string()
    .max(16)
    .optional()
    .openapi({ description: "A past period: `previous`, or a key such as 2026-W47" }),
});

export const PageQuerySchema = PeriodQuerySchema.extend({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z
    .string()
    .max(1024)
    .optional()
    .openapi({ description: "`nextCursor` of the previous page" }),
});

export const EntrySchema = z
  .object({
    rank: z.number().int(),
    playerId: z.string(),
    displayName: z.string().optional(),
    score: z.number(),
    reachedAt: z.string(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Entry");

export const LeaderboardPageSchema = z
  .object({
    board: z.string(),
    period: z.string(),
    periodKey: z.string(),
    total: z.number().int().openapi({ description: "Players on this board-period" }),
    entries: z.array(EntrySchema),
    nextCursor: z.string().nullable(),
  })
  .openapi("LeaderboardPage");

/** A player's standing on a board-period or a tournament instance (after what it names). */
export const standingFields = {
  score: z.number(),
  rank: z.number().int(),
  total: z.number().int(),
  percentile: z.number(),
  reachedAt: z.string(),
  displayName: z.string().optional(),
};

export const PlayerRankSchema = z
  .object({
    playerId: z.string(),
    board: z.string(),
    period: z.string(),
    periodKey: z.string(),
    ...standingFields,
  })
  .openapi("PlayerRank");

export const EntriesSchema = z
  .object({
    board: z.string(),
    period: z.string(),
    periodKey: z.string(),
    total: z.number().int(),
    entries: z.array(EntrySchema),
  })
  .openapi("Entries");

export const PlayersBodySchema = z
  .object({
    playerIds: z
      .array(PlayerIdSchema)
      .min(1)
      .max(100)
      .openapi({ description: "Up to 100 player ids (friends)" }),
  })
  .openapi("PlayersRequest");

export const RankOfSchema = z
  .object({
    board: z.string(),
    period: z.string(),
    periodKey: z.string(),
    score: z.number(),
    rank: z.number().int(),
    total: z.number().int(),
  })
  .openapi("RankOf");
