import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/**
 * One row per cron job run (src/domain/jobs.ts names the jobs), written when the run ends, ok or
 * failed: GET /v1/admin/jobs lists them, and each job's newest success says whether it is
 * degraded (readiness, metrics). The daily upkeep prunes rows past JOB_RUN_RETENTION_DAYS but
 * keeps each job's newest success, so a job failing for weeks still shows when it last worked.
 */
export const jobRuns = pgTable(
  "job_runs",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    job: text("job").notNull(),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }).notNull(),
    outcome: text("outcome", { enum: ["ok", "failed"] }).notNull(),
    /** Rows or items the run worked on (each job says which); null when it failed. */
    touched: integer("touched"),
    /** Why it failed (the log's description of the error, bounded); null when ok. */
    error: text("error"),
    /** The job's own summary, as its log line has it. */
    detail: jsonb("detail").$type<Record<string, unknown>>(),
  },
  (t) => [
    check("job_runs_outcome_valid", sql`${t.outcome} in ('ok', 'failed')`),
    // Serves: a job's newest runs (the admin listing), and its newest success.
    index("job_runs_job_started_idx").on(t.job, t.startedAt),
    // Serves: the newest runs of every job, and the prune of old ones.
    index("job_runs_started_idx").on(t.startedAt),
  ],
);

export type JobRun = typeof jobRuns.$inferSelect;
