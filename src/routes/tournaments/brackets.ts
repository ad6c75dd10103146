import { z } from "@hono/zod-openapi";
import { unstorableJson } from "../../domain";

// Prize brackets, shared by tournaments and periodic boards: in a file of their own, so the board
// schema takes them without importing the tournament schema (which imports the board's).

/** Free JSON the game interprets; stored as given, so it must be storable (no NUL, no lone surrogates). */
const RewardSchema = z
  .unknown()
  .refine((v) => v !== undefined, "reward is required")
  .refine((v) => unstorableJson(v) === null, "reward holds text Postgres cannot store")
  .openapi({ description: "Free JSON the game interprets (coins, items, badges)" });

export const BracketSchema = z.union([
  z.object({
    fromRank: z.number().int().min(1).max(1_000_000),
    toRank: z.number().int().min(1).max(1_000_000),
    reward: RewardSchema,
  }),
  z.object({ topPercent: z.number().gt(0).max(100), reward: RewardSchema }),
]);
