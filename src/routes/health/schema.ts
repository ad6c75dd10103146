import { z } from "@hono/zod-openapi";

export const LivenessSchema = z.object({ status: z.literal("ok"), environment: z.string() }).openapi("Liveness");

const DependencySchema = z
  .object({
    status: z.enum(["ok", "down", "not_configured", "invalid"]),
    required: z.boolean(),
    latencyMs: z.number().int().optional().openapi({ description: "Round trip of the check, in milliseconds" }),
    error: z.string().optional(),
  })
  .openapi("DependencyStatus");

export const ReadinessSchema = z
  .object({
    status: z.enum(["ready", "degraded", "unready"]),
    checks: z.object({
      config: DependencySchema.openapi({ description: "The numeric [vars] of wrangler.toml; invalid names each bad one" }),
      database: DependencySchema,
      redis: DependencySchema,
    }),
  })
  .openapi("Readiness");
