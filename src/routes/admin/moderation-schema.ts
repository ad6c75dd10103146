import { z } from "@hono/zod-openapi";

/** A player id as events carry it (EventInputSchema.playerId). */
export const PlayerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:@|-]{1,128}$/, "1-128 characters: letters, digits and _ . : @ | -")
  .openapi({ example: "player-42" });

const ReasonSchema = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .refine(
    (text) => ![...text].some((ch) => (ch.codePointAt(0) ?? 0) < 0x20 || ch === "\u007f"),
    "no control characters",
  );

const BoardPeriodsSchema = z
  .array(z.object({ boardId: z.string(), periodKey: z.string() }))
  .openapi({ description: "The board-periods whose records changed (their pages were purged)" });

const auditId = z.string().openapi({ description: "The audit row written (GET /v1/admin/audit)" });

export const RemoveQuerySchema = z.object({
  period: z
    .string()
    .min(1)
    .max(16)
    .optional()
    .openapi({
      description:
        'One period key of the board ("all", "2026-11-22", "2026-W47", "2026-11"); ' +
        "absent: every period",
    }),
  reason: ReasonSchema.optional().openapi({ description: "Why, for the audit trail" }),
});

export const RemovalSchema = z
  .object({
    playerId: z.string(),
    boardId: z.string(),
    periodKey: z.string().nullable().openapi({ description: "null: every period" }),
    removed: z.number().int().openapi({ description: "Records deleted" }),
    boardPeriods: BoardPeriodsSchema,
    auditId,
  })
  .openapi("Removal");

export const BanRequestSchema = z
  .object({ reason: ReasonSchema.openapi({ example: "impossible scores (speed hack)" }) })
  .openapi("BanRequest");

export const BanSchema = z
  .object({
    playerId: z.string(),
    reason: z.string(),
    bannedBy: z.string(),
    bannedAt: z.string(),
    alreadyBanned: z
      .boolean()
      .openapi({ description: "The player was banned before this call (the first ban stays)" }),
    hidden: z.number().int().openapi({ description: "Records taken off the boards by this call" }),
    boardPeriods: BoardPeriodsSchema,
    auditId,
  })
  .openapi("Ban");

export const UnbanQuerySchema = z.object({
  reason: ReasonSchema.optional().openapi({ description: "Why, for the audit trail" }),
});

export const UnbanSchema = z
  .object({
    playerId: z.string(),
    restored: z.number().int().openapi({ description: "Records back on their boards" }),
    boardPeriods: BoardPeriodsSchema,
    auditId,
  })
  .openapi("Unban");

export const AuditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "nextCursor of the previous page" }),
  player: PlayerIdSchema.optional().openapi({ description: "Only this player's rows" }),
});

export const AuditListSchema = z
  .object({
    entries: z.array(
      z.object({
        id: z.string(),
        at: z.string(),
        actor: z.string().openapi({
          description: '"admin" (ADMIN_KEY) or "key:<prefix>/<id>" (a server key)',
        }),
        action: z.enum(["remove", "ban", "unban"]),
        playerId: z.string(),
        boardId: z.string().nullable(),
        periodKey: z.string().nullable(),
        reason: z.string().nullable(),
        records: z.number().int(),
        detail: z.record(z.string(), z.unknown()).nullable(),
      }),
    ),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as cursor for the next page; null: this is the last" }),
  })
  .openapi("AuditList");
