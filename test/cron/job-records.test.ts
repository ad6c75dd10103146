import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { JOB_RUN_RETENTION_DAYS } from "../../src/cron/upkeep";
import worker from "../../src/index";
import { counters } from "../../src/lib/metrics";
import { type OwnDatabase, ownDatabase, queryOn } from "../helpers/own-database";

type RunRow = {
  job: string;
  outcome: string;
  touched: number | null;
  error: string | null;
  detail: Record<string, unknown> | null;
  started_at: string;
  finished_at: string;
};

// Every run of every job lands in job_runs, and the upkeep prunes it: a database of its own, so
// the rows counted here are this file's alone.
describe("job records (a database of its own; real Postgres only)", () => {
  let own: OwnDatabase | null = null;
  beforeAll(async () => {
    own = await ownDatabase("job_records");
  });
  afterAll(async () => {
    await own?.drop();
  });
  const ownEnv = () => {
    if (!own) throw new Error("no database of its own");
    return own.env;
  };
  const query = <T>(statement: ReturnType<typeof sql>) => queryOn<T>(ownEnv(), statement);
  async function fire(cron: string): Promise<void> {
    const ctx = createExecutionContext();
    try {
      await worker.scheduled(
        createScheduledController({ cron, scheduledTime: Date.now() }),
        ownEnv(),
        ctx,
      );
    } finally {
      await waitOnExecutionContext(ctx);
    }
  }
  const runsOf = (job: string) =>
    query<RunRow>(sql`select job, outcome, touched, error, detail, started_at, finished_at
      from job_runs where job = ${job} order by started_at desc, id desc`);

  it("records a successful upkeep run with the items it touched", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    // One refused event past its retention: an item the run is sure to touch.
    await query(sql`insert into score_rejections (event_id, board_id, player_id, code, score, rejected_at)
      values ('job-records-old', 'b', 'p', 'SCORE_OUT_OF_RANGE', 1, now() - interval '31 days')`);
    await fire("15 3 * * *");
    const [run, ...rest] = await runsOf("upkeep");
    expect(rest).toEqual([]);
    expect(run?.outcome).toBe("ok");
    expect(run?.error).toBeNull();
    const detail = run?.detail as {
      partitionsCreated: number;
      partitionsDropped: string[];
      eventIdDaysCreated: number;
      eventIdDaysDropped: string[];
      emptyBandsSwept: number;
      refusalsPruned: number;
      jobRunsPruned: number;
    };
    expect(detail.refusalsPruned).toBe(1);
    expect(run?.touched).toBe(
      detail.partitionsCreated +
        detail.partitionsDropped.length +
        detail.eventIdDaysCreated +
        detail.eventIdDaysDropped.length +
        detail.emptyBandsSwept +
        detail.refusalsPruned +
        detail.jobRunsPruned,
    );
    expect(Date.parse(run?.finished_at ?? "")).toBeGreaterThanOrEqual(
      Date.parse(run?.started_at ?? ""),
    );
  });

  it("records each every-minute job's run", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    await fire("* * * * *");
    const [repairs] = await runsOf("object repairs");
    expect(repairs).toMatchObject({ outcome: "ok", touched: 0, error: null });
    expect(repairs?.detail).toEqual({ repaired: 0, failed: 0, dropped: 0 });
    // Reconciliation runs only with Upstash configured.
    const reconciled = await runsOf("rank reconciliation");
    if (inject("upstashUrl")) expect(reconciled[0]).toMatchObject({ outcome: "ok", touched: 0 });
    else expect(reconciled).toEqual([]);
  });

  it("records a failing job as failed with its error, and still rethrows the error", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    await query(sql`alter function ensure_event_partitions(integer) rename to ensure_gone`);
    try {
      await expect(fire("15 3 * * *")).rejects.toThrow();
    } finally {
      await query(sql`alter function ensure_gone(integer) rename to ensure_event_partitions`);
    }
    const [run] = await runsOf("upkeep");
    expect(run?.outcome).toBe("failed");
    expect(run?.touched).toBeNull();
    expect(run?.detail).toBeNull();
    expect(run?.error).toMatch(/ensure_event_partitions.*does not exist/);
  });

  it("keeps the job's outcome when its record cannot be written, and counts the miss", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const before = counters.jobRecordFailures;
    // Refuses new upkeep rows only (not valid: the rows already there stay).
    await query(
      sql`alter table job_runs add constraint refuse_upkeep check (job <> 'upkeep') not valid`,
    );
    try {
      // The upkeep itself works: the scheduled handler resolves although its record failed.
      await expect(fire("15 3 * * *")).resolves.toBeUndefined();
    } finally {
      await query(sql`alter table job_runs drop constraint refuse_upkeep`);
    }
    expect(counters.jobRecordFailures).toBe(before + 1);
    expect(await runsOf("upkeep")).toHaveLength(2);
  });

  it("prunes runs past the retention but keeps each job's newest success", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const job = "pruned job";
    const daysAgo = (days: number) => sql`now() - make_interval(days => ${days})`;
    const old = JOB_RUN_RETENTION_DAYS + 5;
    await query(sql`insert into job_runs (job, started_at, finished_at, outcome, touched, error)
      values (${job}, ${daysAgo(old)}, ${daysAgo(old)}, 'ok', 1, null),
             (${job}, ${daysAgo(old - 1)}, ${daysAgo(old - 1)}, 'failed', null, 'old failure'),
             (${job}, ${daysAgo(old - 2)}, ${daysAgo(old - 2)}, 'ok', 2, null),
             (${job}, ${daysAgo(1)}, ${daysAgo(1)}, 'failed', null, 'recent failure')`);
    await fire("15 3 * * *");
    const left = await query<{ touched: number | null; error: string | null }>(
      sql`select touched, error from job_runs where job = ${job} order by started_at`,
    );
    expect(left).toEqual([
      { touched: 2, error: null },
      { touched: null, error: "recent failure" },
    ]);
    const [upkeep] = await runsOf("upkeep");
    expect(upkeep?.detail).toMatchObject({ jobRunsPruned: 2 });
  });
});
