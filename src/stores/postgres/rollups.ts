import { type SQL, sql } from "drizzle-orm";
import type { RollupSpan } from "../../domain";
import type { Database } from "./client";

/**
 * The order the rollup job folds events in: when each was stored (stored_at), or its received_at
 * for rows stored before that column existed. Written exactly as the BRIN index
 * events_stamp_brin is, so range predicates on it use the index.
 */
const STAMP = sql.raw("coalesce(stored_at, received_at)");

const PROGRESS_ID = "events";

/** Where the job stands, with the progress row locked until the transaction ends. */
export interface LockedProgress {
  rolledUpTo: Date;
  stepMs: number;
}

const iso = (at: Date) => at.toISOString();

/**
 * Locks the progress row (creating it at `start` with `stepMs` on the first run): a second run
 * waits here for the first one's step to commit and then reads where it ended, so no event is
 * folded twice. Positions are whole milliseconds, written from JS, so they survive the round trip.
 */
export async function lockProgress(
  tx: Database,
  start: Date,
  stepMs: number,
): Promise<LockedProgress> {
  await tx.execute(sql`insert into rollup_progress (id, rolled_up_to, step_ms)
    values (${PROGRESS_ID}, ${iso(start)}::timestamptz, ${stepMs}) on conflict (id) do nothing`);
  const result = await tx.execute<{ rolled_up_to: string; step_ms: number }>(sql`
    select rolled_up_to, step_ms from rollup_progress where id = ${PROGRESS_ID} for update`);
  const row = result.rows[0];
  if (!row) throw new Error("rollup_progress: the row just ensured is missing");
  return { rolledUpTo: new Date(row.rolled_up_to), stepMs: Number(row.step_ms) };
}

function stampedIn(from: Date, to: Date): SQL {
  return sql`${STAMP} >= ${iso(from)}::timestamptz and ${STAMP} < ${iso(to)}::timestamptz`;
}

/**
 * Where a step over [from, to) must end to fold at most `limit` events: the millisecond of the
 * (limit + 1)-th event by stamp (every event before it is among the first `limit`), or null when
 * the range holds no more than `limit`. Reads the range through the BRIN index, with a top-N sort.
 */
export async function stepEnd(
  tx: Database,
  from: Date,
  to: Date,
  limit: number,
): Promise<Date | null> {
  const result = await tx.execute<{ ms: string }>(sql`
    select floor(extract(epoch from ${STAMP}) * 1000)::bigint as ms
    from events where ${stampedIn(from, to)}
    order by ${STAMP} offset ${limit} limit 1`);
  const ms = result.rows[0]?.ms;
  return ms === undefined ? null : new Date(Number(ms));
}

/**
 * Adds the events stamped in [from, to) to the rollups, in one statement: each event counts in
 * its hour and its UTC day of occurredAt, under its (type, board) and under the overall row
 * (event_type ''). Players new to a row (absent from rollup_players) are added to its distinct
 * count; a player already there counts once, however late their next event. Not idempotent on
 * its own: the caller moves the progress past [from, to) in the same transaction. Returns the
 * events folded.
 */
export async function foldStamped(tx: Database, from: Date, to: Date): Promise<number> {
  const result = await tx.execute<{ events: number }>(sql`
    with src as (
      select type, coalesce(board_id, '') as board_id, player_id, score,
             date_trunc('hour', occurred_at, 'UTC') as hour,
             date_trunc('day', occurred_at, 'UTC') as day
      from events where ${stampedIn(from, to)}
    ),
    keyed as (
      select k.span, k.bucket, k.event_type, k.board_id, s.player_id, s.score
      from src s cross join lateral (values
        ('hour', s.hour, s.type, s.board_id), ('hour', s.hour, '', ''),
        ('day', s.day, s.type, s.board_id), ('day', s.day, '', '')
      ) as k(span, bucket, event_type, board_id)
    ),
    newcomers as (
      insert into rollup_players (span, bucket, event_type, board_id, player_id)
      select distinct span, bucket, event_type, board_id, player_id from keyed
      order by 1, 2, 3, 4, 5
      on conflict do nothing
      returning span, bucket, event_type, board_id
    ),
    new_players as (
      select span, bucket, event_type, board_id, count(*) as n from newcomers group by 1, 2, 3, 4
    ),
    figures as (
      select span, bucket, event_type, board_id, count(*) as events, count(score) as score_events,
             coalesce(sum(score), 0) as score_sum, max(score) as score_max
      from keyed group by 1, 2, 3, 4
    ),
    upserted as (
      insert into rollups as r (span, bucket, event_type, board_id, events, players, score_events,
                                score_sum, score_max)
      select f.span, f.bucket, f.event_type, f.board_id, f.events, coalesce(p.n, 0),
             f.score_events, f.score_sum, f.score_max
      from figures f left join new_players p using (span, bucket, event_type, board_id)
      order by 1, 2, 3, 4
      on conflict (span, bucket, event_type, board_id) do update set
        events = r.events + excluded.events,
        players = r.players + excluded.players,
        score_events = r.score_events + excluded.score_events,
        score_sum = r.score_sum + excluded.score_sum,
        -- greatest() skips nulls: a bucket's first score event sets it.
        score_max = greatest(r.score_max, excluded.score_max)
      returning 1
    )
    select (select count(*) from src)::int as events, (select count(*) from upserted)::int as rows`);
  return Number(result.rows[0]?.events ?? 0);
}

/** Moves the locked progress row to `to`, the next step sized `stepMs`. */
export async function advanceProgress(tx: Database, to: Date, stepMs: number): Promise<void> {
  await tx.execute(sql`update rollup_progress set rolled_up_to = ${iso(to)}::timestamptz,
    step_ms = ${stepMs} where id = ${PROGRESS_ID}`);
}

/** Records the end of a run, and whether it reached its cutoff. */
export async function recordRollupRun(db: Database, at: Date, caughtUp: boolean): Promise<void> {
  await db.execute(sql`update rollup_progress set last_run_at = ${iso(at)}::timestamptz,
    caught_up = ${caughtUp} where id = ${PROGRESS_ID}`);
}

/**
 * Deletes up to `limit` rollup_players rows of buckets that ended before `closedBefore` (no event
 * can land in them any more): their rollups are final, and the rows are only ballast.
 */
export async function pruneRollupPlayers(
  db: Database,
  closedBefore: Date,
  limit: number,
): Promise<number> {
  const result = await db.execute<{ n: string }>(sql`
    with old as (
      select ctid from rollup_players
      where (span = 'hour' and bucket < ${iso(closedBefore)}::timestamptz - interval '1 hour')
         or (span = 'day' and bucket < ${iso(closedBefore)}::timestamptz - interval '1 day')
      limit ${limit}
    ), gone as (delete from rollup_players p using old where p.ctid = old.ctid returning 1)
    select count(*) as n from gone`);
  return Number(result.rows[0]?.n ?? 0);
}

export interface RollupProgress {
  rolledUpTo: Date;
  lastRunAt: Date | null;
  caughtUp: boolean;
}

/** Where the rollups stand; null before the first run. */
export async function readRollupProgress(db: Database): Promise<RollupProgress | null> {
  const result = await db.execute<{
    rolled_up_to: string;
    last_run_at: string | null;
    caught_up: boolean;
  }>(sql`select rolled_up_to, last_run_at, caught_up from rollup_progress
    where id = ${PROGRESS_ID}`);
  const row = result.rows[0];
  if (!row) return null;
  return {
    rolledUpTo: new Date(row.rolled_up_to),
    lastRunAt: row.last_run_at === null ? null : new Date(row.last_run_at),
    caughtUp: row.caught_up,
  };
}

export interface RollupRow {
  bucket: Date;
  /** '' on a bucket's overall row. */
  eventType: string;
  /** '' for events without a board, and on the overall row. */
  boardId: string;
  events: number;
  players: number;
  scoreEvents: number;
  /** Decimal digits: a sum may pass 2^53. */
  scoreSum: string;
  scoreMax: number | null;
}

/**
 * The rollup rows of `span` with buckets in [from, to), oldest first, at most `limit`: the
 * overall rows always, the (type, board) rows filtered by `type` and `board` when given.
 * Reads the primary key's range of (span, bucket) only.
 */
export async function readRollups(
  db: Database,
  query: {
    span: RollupSpan;
    from: Date;
    to: Date;
    type?: string | undefined;
    board?: string | undefined;
    limit: number;
  },
): Promise<RollupRow[]> {
  const type = query.type === undefined ? sql`` : sql` and event_type = ${query.type}`;
  const board = query.board === undefined ? sql`` : sql` and board_id = ${query.board}`;
  const result = await db.execute<{
    bucket: string;
    event_type: string;
    board_id: string;
    events: string;
    players: string;
    score_events: string;
    score_sum: string;
    score_max: string | null;
  }>(sql`
    select bucket, event_type, board_id, events, players, score_events, score_sum::text as score_sum,
           score_max
    from rollups
    where span = ${query.span}
      and bucket >= ${iso(query.from)}::timestamptz and bucket < ${iso(query.to)}::timestamptz
      and (event_type = '' or (true${type}${board}))
    order by bucket, event_type, board_id
    limit ${query.limit}`);
  return result.rows.map((r) => ({
    bucket: new Date(r.bucket),
    eventType: r.event_type,
    boardId: r.board_id,
    events: Number(r.events),
    players: Number(r.players),
    scoreEvents: Number(r.score_events),
    scoreSum: r.score_sum,
    scoreMax: r.score_max === null ? null : Number(r.score_max),
  }));
}
