import { z } from "@hono/zod-openapi";
import { isValidTimeZone, unstorableJson } from "../../domain";
import { EntrySchema, PlayerIdSchema, standingFields } from "../leaderboards/schema";
import { BracketSchema } from "./brackets";

const TournamentIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$/,
    "1-60 characters: letters, digits, '_', '.', '-' (not first)",
  )
  .openapi({ example: "weekly-cup" });

export const TournamentParamsSchema = z.object({ id: TournamentIdSchema });

const InstanceKeySchema = z
  .string()
  .regex(
    /^(main|\d{4}-\d{2}-\d{2}|\d{4}-W\d{2}|\d{4}-\d{2})$/,
    "main, 2026-11-22, 2026-W47 or 2026-11",
  )
  .openapi({ description: "An instance key: main (one-off), 2026-11-22, 2026-W47 or 2026-11" });

const ScheduleSchema = z
  .object({
    every: z.enum(["day", "week", "month"]),
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM, 00:00-23:59"),
    timeZone: z.string().refine(isValidTimeZone, "must be an IANA time zone"),
    durationMinutes: z.number().int().min(1).max(40_320),
    weekday: z.number().int().min(1).max(7).optional().openapi({ description: "1 = Monday" }),
    dayOfMonth: z.number().int().min(1).max(28).optional(),
  })
  .openapi("TournamentSchedule");

const Instant = z.iso.datetime({ offset: true, message: "an ISO 8601 date-time with a zone" });

export const CreateTournamentSchema = z
  .object({
    id: TournamentIdSchema,
    name: z.string().trim().min(1).max(200),
    sortOrder: z.enum(["desc", "asc"]).default("desc"),
    operator: z.enum(["best", "latest", "increment"]).default("best"),
    topSize: z.number().int().min(1).max(10_000).default(1000),
    startsAt: Instant,
    endsAt: Instant.optional().openapi({ description: "Required without a schedule" }),
    schedule: ScheduleSchema.optional(),
    maxPlayers: z.number().int().min(1).max(10_000_000).optional(),
    joinRequired: z.boolean().default(false),
    maxAttempts: z.number().int().min(1).max(1_000_000).optional(),
    prizes: z.array(BracketSchema).max(100).default([]),
    metadata: z
      .record(z.string(), z.unknown())
      .refine((v) => unstorableJson(v) === null, "metadata holds text Postgres cannot store")
      .optional(),
  })
  .openapi("CreateTournament");

const InstanceSchema = z
  .object({ key: z.string(), startsAt: z.string(), endsAt: z.string() })
  .nullable();

export const TournamentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    startsAt: z.string(),
    endsAt: z.string().nullable(),
    schedule: ScheduleSchema.nullable(),
    maxPlayers: z.number().int().nullable(),
    joinRequired: z.boolean(),
    maxAttempts: z.number().int().nullable(),
    prizes: z.array(z.record(z.string(), z.unknown())),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    status: z.enum(["active", "upcoming", "ended"]),
    currentInstance: InstanceSchema,
    nextInstance: InstanceSchema,
  })
  .openapi("Tournament");

export const TournamentListQuerySchema = z.object({
  status: z.enum(["active", "upcoming", "ended"]).default("active"),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: TournamentIdSchema.optional(),
});

export const TournamentListSchema = z
  .object({ tournaments: z.array(TournamentSchema), nextCursor: z.string().nullable() })
  .openapi("TournamentList");

export const JoinBodySchema = z
  .object({
    playerId: PlayerIdSchema.optional().openapi({
      description: "Default: the player token's own player (a server key must name one)",
    }),
  })
  .openapi("JoinTournament");

export const JoinResultSchema = z
  .object({
    tournament: z.string(),
    instance: z.string(),
    playerId: z.string(),
    joined: z.boolean().openapi({ description: "false: the player had joined already" }),
  })
  .openapi("TournamentEntry");

export const StandingsQuerySchema = z.object({
  instance: InstanceKeySchema.optional().openapi({
    description: "Default: the running instance, else the last that ended",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(1024).optional(),
});

export const StandingsPageSchema = z
  .object({
    tournament: z.string(),
    instance: z.string(),
    final: z.boolean().openapi({ description: "true: finalised, the standings are frozen" }),
    total: z.number().int(),
    entries: z.array(
      z.object({
        rank: z.number().int(),
        playerId: z.string(),
        displayName: z.string().optional(),
        score: z.number(),
        reachedAt: z.string(),
        metadata: z.record(z.string(), z.unknown()).optional(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .openapi("TournamentStandings");

export const InstancePlayerParamsSchema = z.object({
  id: TournamentIdSchema,
  player: PlayerIdSchema,
});

export const InstanceQuerySchema = z.object({
  instance: InstanceKeySchema.optional().openapi({
    description: "Default: the running instance, else the last that ended",
  }),
});

const FinalFlag = z.boolean().openapi({
  description: "true: the instance is finalised and this is its frozen standing",
});

export const InstancePlayerSchema = z
  .object({
    tournament: z.string(),
    instance: z.string(),
    final: FinalFlag,
    playerId: z.string(),
    ...standingFields,
  })
  .openapi("TournamentPlayerRank");

export const InstanceEntriesSchema = z
  .object({
    tournament: z.string(),
    instance: z.string(),
    final: FinalFlag,
    total: z.number().int(),
    entries: z.array(EntrySchema),
  })
  .openapi("TournamentEntries");

export const FinalizeBodySchema = z
  .object({ instance: InstanceKeySchema.optional() })
  .openapi("FinalizeTournament");

export const FinalizeResultSchema = z
  .object({
    tournamentId: z.string(),
    instanceKey: z.string(),
    finalisedNow: z.boolean().openapi({ description: "false: it was finalised already" }),
    standings: z.number().int(),
    prizes: z.number().int(),
  })
  .openapi("TournamentFinalisation");

export const GrantAttemptsBodySchema = z
  .object({
    playerId: PlayerIdSchema,
    instance: InstanceKeySchema.optional(),
    count: z.number().int().min(1).max(1000),
  })
  .openapi("GrantAttempts");

export const GrantAttemptsResultSchema = z
  .object({
    instanceKey: z.string(),
    playerId: z.string(),
    attempts: z.number().int(),
    extraAttempts: z.number().int(),
  })
  .openapi("TournamentAttempts");

export const PrizeSchema = z
  .object({
    id: z.string(),
    tournamentId: z.string().nullable().openapi({ description: "null: a board period's prize" }),
    boardId: z.string().nullable().openapi({
      description:
        "The board whose period awarded it (instanceKey: the period key); null: a tournament's",
    }),
    instanceKey: z.string(),
    playerId: z.string(),
    rank: z.number().int(),
    reward: z.unknown(),
    awardedAt: z.string(),
    claimedAt: z.string().nullable(),
  })
  .openapi("Prize");
