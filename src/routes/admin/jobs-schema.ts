import { z } from "@hono/zod-openapi";
import { JOB_NAMES } from "../../domain";

export const JobsQuerySchema = z.object({
  job: z.enum(JOB_NAMES).optional().openapi({ description: "Only this job's runs and status" }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const JobRunSchema = z
  .object({
    id: z.number().int(),
    job: z.string(),
    startedAt: z.string(),
    finishedAt: z.string(),
    durationMs: z.number().int(),
    outcome: z.enum(["ok", "failed"]),
    touched: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Rows or items the run worked on; null when it failed" }),
    error: z.string().nullable(),
    detail: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The job's own summary of the run, as logged" }),
  })
  .openapi("JobRun");

const JobStatusSchema = z
  .object({
    job: z.enum(JOB_NAMES),
    periodSeconds: z.number().int(),
    lastSuccessAt: z.string().nullable(),
    degraded: z.boolean().openapi({
      description:
        "No success for more than twice the period (counted from when records began if none)",
    }),
  })
  .openapi("JobStatus");

export const JobReportSchema = z
  .object({
    runs: z.array(JobRunSchema).openapi({ description: "Newest first" }),
    jobs: z.array(JobStatusSchema).openapi({
      description: "Each job this deployment runs (rank reconciliation only with Upstash)",
    }),
  })
  .openapi("JobReport");
