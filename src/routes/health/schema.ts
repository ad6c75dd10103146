import { z } from "@hono/zod-openapi";
import { JOB_NAMES } from "../../domain";

export const LivenessSchema = z
  .object({ status: z.literal("ok"), environment: z.string() })
  .openapi("Liveness");

const DependencySchema = z
  .object({
    status: z.enum(["ok", "down", "not_configured", "invalid"]),
    required: z.boolean(),
    latencyMs: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Round trip of the check, in milliseconds" }),
    error: z.string().optional(),
  })
  .openapi("DependencyStatus");

export const ReadinessSchema = z
  .object({
    status: z.enum(["ready", "degraded", "unready"]),
    checks: z.object({
      config: DependencySchema.openapi({
        description: "The numeric [vars] of wrangler.toml; invalid names each bad one",
      }),
      database: DependencySchema,
      redis: DependencySchema.extend({
        circuit: z
          .object({
            state: z.enum(["closed", "open", "half_open"]),
            recentFailures: z.number().int(),
            opened: z.number().int(),
            skipped: z.number().int(),
            retryAt: z.number().int().nullable(),
            lastError: z.string().nullable(),
          })
          .optional()
          .openapi({
            description:
              "This isolate's Redis circuit breaker: open while reads and projections skip Redis",
          }),
      }),
      jobs: z
        .object({
          status: z.enum(["ok", "degraded", "unknown"]),
          required: z.literal(false),
          degraded: z.array(z.enum(JOB_NAMES)).optional(),
        })
        .openapi({
          description:
            "The cron jobs: degraded lists each with no success for twice its period (unknown: " +
            "job_runs unreadable). Reported only: it never makes the worker unready, nor the " +
            "status degraded (GET /v1/admin/jobs has the runs)",
        }),
    }),
  })
  .openapi("Readiness");
