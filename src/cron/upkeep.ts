import { sql } from "drizzle-orm";
import { IDEMPOTENCY_DAYS_AHEAD, IDEMPOTENCY_WINDOW_DAYS, utcDayFrom } from "../domain";
import type { Database } from "../stores/postgres/client";
import { pruneJobRuns } from "../stores/postgres/job-runs";

/** Monthly event partitions kept (the current month and the previous ones). */
const EVENT_RETENTION_MONTHS = 3;
/** Days a refused event stays listed in score_rejections (the ingest stats show the newest). */
const REFUSAL_RETENTION_DAYS = 30;
/**
 * Rows removed per statement: a backlog is worked off over several runs, never in one huge delete.
 */
const PRUNE_BATCH = 10_000;
const PRUNE_ROUNDS = 20;
/**
 * Days of job runs kept (each job's newest success is kept whatever its age). Time, not a count
 * per job: the every-minute jobs write ~2,900 rows a day between them and upkeep one, and runs are
 * looked up by when something went wrong; two weeks covers a week's incidents read late, at
 * ~40,000 rows.
 */
export const JOB_RUN_RETENTION_DAYS = 14;

export interface UpkeepResult {
  partitionsCreated: number;
  partitionsDropped: string[];
  /** Daily event_ids partitions created ahead (the window and IDEMPOTENCY_DAYS_AHEAD days). */
  eventIdDaysCreated: number;
  /** Daily event_ids partitions past IDEMPOTENCY_WINDOW_DAYS dropped whole. */
  eventIdDaysDropped: string[];
  /** Band counts at zero (every record of that band moved or was deleted) removed. */
  emptyBandsSwept: number;
  /** score_rejections rows older than REFUSAL_RETENTION_DAYS removed. */
  refusalsPruned: number;
  /** job_runs rows older than JOB_RUN_RETENTION_DAYS removed. */
  jobRunsPruned: number;
}

/**
 * Daily upkeep, bounded: monthly partitions created three months ahead (inserts never wait for
 * DDL), partitions past retention dropped whole (cheap, unlike DELETE), the daily partitions of
 * idempotency keys created a week ahead and dropped whole past the window, score_buckets rows
 * left at zero swept, refused events older than REFUSAL_RETENTION_DAYS dropped, and job runs
 * older than JOB_RUN_RETENTION_DAYS. Safe to run twice or concurrently: each step is idempotent.
 */
export async function runUpkeep(db: Database, now = new Date()): Promise<UpkeepResult> {
  const created = await db.execute<{ n: number }>(sql`select ensure_event_partitions(3) as n`);
  const cutoff = new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (EVENT_RETENTION_MONTHS - 1), 1),
  );
  const dropped = await db.execute<{ name: string }>(
    sql`select drop_event_partitions_before(${cutoff.toISOString()}::timestamptz) as name`,
  );
  // Every day of the window exists (a fresh database, a missed run), and a week ahead.
  const days = await db.execute<{ n: number }>(
    sql`select ensure_event_id_partitions(${utcDayFrom(now, -IDEMPOTENCY_WINDOW_DAYS)}::date,
      ${utcDayFrom(now, IDEMPOTENCY_DAYS_AHEAD)}::date) as n`,
  );
  const daysDropped = await db.execute<{ name: string }>(
    sql`select drop_event_id_partitions_before(
      ${utcDayFrom(now, -IDEMPOTENCY_WINDOW_DAYS)}::date) as name`,
  );
  const refusals = await db.execute<{ n: string }>(sql`
    with old as (
      select event_id from score_rejections
      where rejected_at < now() - make_interval(days => ${REFUSAL_RETENTION_DAYS})
      limit ${PRUNE_BATCH * PRUNE_ROUNDS}
    ), gone as (delete from score_rejections r using old
      where r.event_id = old.event_id returning 1)
    select count(*) as n from gone`);
  // A band's row is left at zero when its last record moves away; the triggers recreate it when
  // one comes back. Under READ COMMITTED a row a writer just counted up again is skipped.
  const swept = await db.execute<{ n: string }>(sql`
    with gone as (delete from score_buckets where records = 0 returning 1)
    select count(*) as n from gone`);
  const jobRunsPruned = await pruneJobRuns(
    db,
    new Date(now.getTime() - JOB_RUN_RETENTION_DAYS * 86_400_000),
    PRUNE_BATCH * PRUNE_ROUNDS,
  );
  return {
    partitionsCreated: Number(created.rows[0]?.n ?? 0),
    partitionsDropped: dropped.rows.map((r) => r.name).filter(Boolean),
    eventIdDaysCreated: Number(days.rows[0]?.n ?? 0),
    eventIdDaysDropped: daysDropped.rows.map((r) => r.name).filter(Boolean),
    emptyBandsSwept: Number(swept.rows[0]?.n ?? 0),
    refusalsPruned: Number(refusals.rows[0]?.n ?? 0),
    jobRunsPruned,
  };
}
