import { expectedJobs, type JobHealth, type JobName, jobHealth } from "../../domain";
import type { Database } from "../../stores/postgres/client";
import { jobSuccesses } from "../../stores/postgres/job-runs";

/**
 * Each job this deployment runs (or only `job`), with its last success and whether it is
 * degraded at `now` (domain/jobs.ts says what degraded and "never ran" mean).
 */
export async function readJobHealth(
  db: Database,
  options: { redisConfigured: boolean; now: Date; job?: JobName | undefined },
): Promise<JobHealth[]> {
  const jobs = expectedJobs(options.redisConfigured).filter(
    (name) => options.job === undefined || name === options.job,
  );
  const { recordsBegan, lastSuccess } = await jobSuccesses(db, jobs);
  return jobs.map((job) => jobHealth(job, lastSuccess.get(job) ?? null, recordsBegan, options.now));
}

/**
 * Job health as metrics (GET /v1/admin/metrics): how many jobs are degraded, and per job whether
 * it is and the seconds since its last success (-1: none recorded), under names without spaces.
 */
export function jobMetrics(health: readonly JobHealth[], now: Date): Record<string, number> {
  const metrics: Record<string, number> = {
    jobsDegraded: health.filter((h) => h.degraded).length,
  };
  for (const h of health) {
    const name = h.job.replaceAll(" ", "_");
    metrics[`job.${name}.degraded`] = h.degraded ? 1 : 0;
    metrics[`job.${name}.lastSuccessAgeSeconds`] = h.lastSuccessAt
      ? Math.round((now.getTime() - h.lastSuccessAt.getTime()) / 1000)
      : -1;
  }
  return metrics;
}
