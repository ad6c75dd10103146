import type { JobName } from "../../domain";
import type { Database } from "../../stores/postgres/client";
import { recentJobRuns } from "../../stores/postgres/job-runs";
import { readJobHealth } from "./job-health";

/**
 * What GET /v1/admin/jobs answers: the newest runs (of one job or all), and per job this
 * deployment runs its last success and whether it is degraded.
 */
export async function readJobReport(
  db: Database,
  options: { job?: JobName | undefined; limit: number; redisConfigured: boolean; now: Date },
) {
  const [runs, health] = await Promise.all([
    recentJobRuns(db, { job: options.job, limit: options.limit }),
    readJobHealth(db, options),
  ]);
  return {
    runs: runs.map((r) => ({
      id: r.id,
      job: r.job,
      startedAt: r.startedAt.toISOString(),
      finishedAt: r.finishedAt.toISOString(),
      durationMs: r.finishedAt.getTime() - r.startedAt.getTime(),
      outcome: r.outcome,
      touched: r.touched,
      error: r.error,
      detail: r.detail,
    })),
    jobs: health.map((h) => ({
      job: h.job,
      periodSeconds: h.periodSeconds,
      lastSuccessAt: h.lastSuccessAt?.toISOString() ?? null,
      degraded: h.degraded,
    })),
  };
}
