import { z } from "@hono/zod-openapi";
import { BoardIdSchema } from "../boards/schema";

export const PlayerIdSchema = z.string().regex(/^[A-Za-z0-9_.:@|-]{1,128}$/, "1-128 characters: letters, digits and _ . : @ | -");

export const BoardParamsSchema = z.object({ board: BoardIdSchema });
export const PlayerParamsSchema = z.object({ board: BoardIdSchema, player: PlayerIdSchema });

export const PeriodQuerySchema = z.object({
  period: z.enum(["all", "daily", "weekly", "monthly"]).optional().openapi({ description: "Default: all (or the board's first period)" }),
  at: z.string().max(16).optional().openapi({ description: "A past period: `previous`, or a key such as 2026-W47" }),
});

export const PlayerRankSchema = z
  .object({
    playerId: z.string(),
    board: z.string(),
    period: z.string(),
    periodKey: z.string(),
    score: z.number(),
    rank: z.number().int(),
    total: z.number().int(),
    percentile: z.number(),
    reachedAt: z.string(),
  })
  .openapi("PlayerRank");
