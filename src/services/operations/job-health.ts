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
