import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { openDatabase } from "../../src/stores/postgres/client";
import { LATEST_MIGRATION, MIGRATIONS_TABLE } from "../../src/stores/postgres/schema-version";
import { ADMIN } from "../helpers/factories";
import { type OwnDatabase, ownDatabase } from "../helpers/own-database";

type JobStatus = { job: string; lastSuccessAt: string | null; degraded: boolean };
type Report = {
  runs: Array<{ job: string; outcome: string; touched: number | null; error: string | null }>;
  jobs: JobStatus[];
};

const MIN = 60_000;
const HOUR = 60 * MIN;

// Job runs are read whole-table (when records began, every job's last success): a database of
// its own, whose rows each test sets, with times relative to now.
describe("job runs: GET /v1/admin/jobs, /health/ready and metrics (a database of its own)", () => {
  let own: OwnDatabase | null = null;
  beforeAll(async () => {
    own = await ownDatabase("admin_jobs");
    // ownDatabase applies the SQL without drizzle's migrator: record the newest migration as it
    // would, so readiness finds the schema current and goes on to read the jobs.
    if (own) {
      await query(sql`create schema if not exists drizzle`);
      await query(
        sql.raw(`create table ${MIGRATIONS_TABLE} (id serial primary key, hash text not null,
          created_at bigint)`),
      );
      await query(
        sql.raw(`insert into ${MIGRATIONS_TABLE} (hash, created_at)
          values ('${LATEST_MIGRATION.tag}', ${LATEST_MIGRATION.when})`),
      );
    }
  });
  afterAll(async () => {
    await own?.drop();
  });
  const ownEnv = () => {
    if (!own) throw new Error("no database of its own");
    return own.env as AppBindings;
  };
  async function query(statement: ReturnType<typeof sql>): Promise<void> {
    const handle = openDatabase(ownEnv(), { maxConnections: 1 });
    try {
      await handle.db.execute(statement);
    } finally {
      await handle.close();
    }
  }
  /** A run of `job` that started `msAgo` and took a second. */
  async function run(job: string, msAgo: number, outcome: "ok" | "failed", touched = 1) {
    const started = new Date(Date.now() - msAgo);
    const finished = new Date(started.getTime() + 1000);
    await query(sql`insert into job_runs (job, started_at, finished_at, outcome, touched, error)
      values (${job}, ${started.toISOString()}, ${finished.toISOString()}, ${outcome},
              ${outcome === "ok" ? touched : null}, ${outcome === "ok" ? null : `${job} broke`})`);
  }
  async function get(path: string, headers: Record<string, string> = ADMIN): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await createApp().request(path, { headers }, { ...env, ...ownEnv() }, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }
  const report = async (path = "/v1/admin/jobs") => {
    const res = await get(path);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Report;
  };
  const readyJobs = async () => {
    const res = await get("/health/ready", {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      checks: { jobs: { status: string; degraded?: string[] } };
    };
    return body;
  };
  const metrics = async () =>
    (await (await get("/v1/admin/metrics")).json()) as Record<string, number>;
  const withRedis = inject("upstashUrl") !== "";
  const expectedNames = withRedis
    ? ["upkeep", "object repairs", "rank reconciliation", "rollups", "tournament finalisation"]
    : ["upkeep", "object repairs", "rollups", "tournament finalisation"];

  beforeEach(async () => {
    if (own) await query(sql`delete from job_runs`);
  });

  it("at first deploy (no run recorded yet) shows nothing degraded", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const body = await report();
    expect(body.runs).toEqual([]);
    expect(body.jobs.map((j) => j.job)).toEqual(expectedNames);
    expect(body.jobs.every((j) => !j.degraded && j.lastSuccessAt === null)).toBe(true);
    expect((await readyJobs()).checks.jobs).toEqual({
      status: "ok",
      required: false,
      degraded: [],
    });
    const m = await metrics();
    expect(m.jobsDegraded).toBe(0);
    expect(m.jobsUnknown).toBe(0);
    expect(m["job.upkeep.lastSuccessAgeSeconds"]).toBe(-1);
  });

  it("answers the newest runs first, filtered by job and limited", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    await run("object repairs", 90_000, "ok", 3);
    await run("upkeep", 10 * HOUR, "ok", 7);
    await run("object repairs", 30_000, "failed");
    const all = await report();
    expect(all.runs.map((r) => [r.job, r.outcome])).toEqual([
      ["object repairs", "failed"],
      ["object repairs", "ok"],
      ["upkeep", "ok"],
    ]);
    expect(all.runs[0]).toMatchObject({ touched: null, error: "object repairs broke" });
    const repairs = await report("/v1/admin/jobs?job=object%20repairs&limit=1");
    expect(repairs.runs).toEqual([expect.objectContaining({ job: "object repairs" })]);
    expect(repairs.runs[0]?.outcome).toBe("failed");
    expect(repairs.jobs).toEqual([
      expect.objectContaining({ job: "object repairs", degraded: false }),
    ]);
    // The last success, not the last run (which failed).
    expect(Date.now() - Date.parse(repairs.jobs[0]?.lastSuccessAt ?? "")).toBeGreaterThan(80_000);
    const upkeep = await report("/v1/admin/jobs?job=upkeep");
    expect(upkeep.runs.map((r) => r.touched)).toEqual([7]);
  });

  it("answers bad query input with a 400 in the error shape", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    for (const query of ["job=nope", "limit=0", "limit=501", "limit=many", "job="]) {
      const res = await get(`/v1/admin/jobs?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("shows a job whose last success is older than twice its period as degraded, in readiness and metrics, without making the worker unready", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    await run("upkeep", 49 * HOUR, "ok");
    await run("upkeep", 25 * HOUR, "failed");
    await run("object repairs", 3 * MIN, "ok");
    await run("object repairs", 20_000, "failed");
    if (withRedis) await run("rank reconciliation", 20_000, "ok");
    await run("rollups", 30 * MIN, "ok");
    await run("tournament finalisation", 20_000, "ok");
    const body = await report();
    expect(Object.fromEntries(body.jobs.map((j) => [j.job, j.degraded]))).toEqual({
      upkeep: true,
      "object repairs": true,
      ...(withRedis ? { "rank reconciliation": false } : {}),
      rollups: false,
      "tournament finalisation": false,
    });
    const ready = await readyJobs();
    expect(ready.checks.jobs).toEqual({
      status: "degraded",
      required: false,
      degraded: ["upkeep", "object repairs"],
    });
    // Reported, not acted on: the status still speaks for the dependencies.
    expect(ready.status).not.toBe("unready");
    const m = await metrics();
    expect(m.jobsDegraded).toBe(2);
    expect(m["job.upkeep.degraded"]).toBe(1);
    expect(m["job.object_repairs.degraded"]).toBe(1);
    expect(m["job.upkeep.lastSuccessAgeSeconds"]).toBeGreaterThan(49 * 3600 - 60);
    if (withRedis) expect(m["job.rank_reconciliation.degraded"]).toBe(0);
  });

  it("counts a job that never succeeded from when records began", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    // Records began 30 s ago: the daily upkeep has two days, the minute jobs two minutes.
    await run("object repairs", 30_000, "failed");
    expect((await readyJobs()).checks.jobs.degraded).toEqual([]);
    // Records began 5 minutes ago and the minute job never succeeded since: degraded; the
    // upkeep, which has not had its turn, is not.
    await run("object repairs", 5 * MIN, "failed");
    expect((await readyJobs()).checks.jobs.degraded).toEqual(
      withRedis
        ? ["object repairs", "rank reconciliation", "tournament finalisation"]
        : ["object repairs", "tournament finalisation"],
    );
  });
});
