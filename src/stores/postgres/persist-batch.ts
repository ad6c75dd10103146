import { type SQL, sql } from "drizzle-orm";
import type { ScoreChange } from "../../domain/records.ts";

/**
 * Any drizzle Neon client, over HTTP or a WebSocket pool, whatever its schema: this module imports
 * no project code (types only), so the ingest benchmark can run the very same statement from Node
 * to measure the database's ceiling.
 */
type Database = { execute(query: SQL): PromiseLike<{ rows: unknown[] }> };

/** One event as the consumer hands it to Postgres (JSON, so one parameter carries the batch). */
export interface EventRow {
  event_id: string;
  received_at: string;
  occurred_at: string;
  type: string;
  player_id: string;
  board_id: string | null;
  tournament_id: string | null;
  score: number | null;
  display_name: string | null;
  metadata: Record<string, unknown> | null;
  payload: Record<string, unknown> | null;
}

/** One (event, board, period key) pair: an event moves a score in every period of its board. */
export interface ContributionRow {
  event_id: string;
  board_id: string;
  period_key: string;
}

export interface PersistResult {
  /** Events new to the database (their ids had not been seen within the idempotency window). */
  persisted: number;
  duplicates: number;
  /** Fresh events the board's bounds refused (recorded in score_rejections; they moved nothing). */
  refused: string[];
  /**
   * The statement's transaction time (epoch ms, Postgres' clock), the updated_at of every row it
   * wrote: the batch's place in the board-periods' watermarks (see LeaderboardDO.watermark).
   */
  writtenAt: number;
  changes: ScoreChange[];
}

/** The safe-integer range: every record stays inside it (and inside its board's bounds). */
const MIN_SAFE = sql.raw(String(Number.MIN_SAFE_INTEGER));
const MAX_SAFE = sql.raw(String(Number.MAX_SAFE_INTEGER));

/** The new state of a row whose record the batch replaces: the batch's values, one version on. */
const TAKE_EXCLUDED = sql`(excluded.score, excluded.sort_score, excluded.reached_at,
  excluded.metadata, s.version + 1, now())`;

/**
 * The upsert of one operator's records from the batch's `agg`: `newState` is the ON CONFLICT
 * arm's (score, sort_score, reached_at, metadata, version, updated_at) over the locked row `s`,
 * `onlyIf` its WHERE (rows it excludes stay untouched and are not returned).
 */
function upsertFrom(operator: "best" | "latest" | "increment", newState: SQL, onlyIf: SQL): SQL {
  return sql`
      insert into scores as s
        (board_id, period_key, player_id, score, sort_score, reached_at, metadata, version,
         updated_at)
      select a.board_id, a.period_key, a.player_id, a.score, a.sort_score, a.reached_at,
             a.metadata, coalesce(t.version, 0) + 1, now()
      from agg a
      -- A record a moderator removed starts again past its last version, so the projections'
      -- version guards never take it for a stale state of the removed one (moderation.ts).
      left join score_tombstones t
        on t.board_id = a.board_id and t.period_key = a.period_key and t.player_id = a.player_id
      where a.operator = ${sql.raw(`'${operator}'`)}
      order by a.board_id, a.period_key, a.player_id
      on conflict (board_id, period_key, player_id) do update set
        (score, sort_score, reached_at, metadata, version, updated_at) = ${newState}
      ${onlyIf}
      returning board_id, period_key, player_id, score, reached_at, version, metadata`;
}

/**
 * Writes a whole batch in ONE statement (one round trip, atomic):
 *  1. `fresh`: insert the ids into event_ids (by their occurred day), ON CONFLICT DO NOTHING, so
 *     only ids never seen before come back. Everything below uses `fresh`, which is what makes redelivery and client
 *     retries safe even for increment boards: a replayed event cannot move a score.
 *  2. insert the fresh events into the partitioned events table, and new players.
 *  3. `agg`: fold the fresh contributions per (board, period, player) with the board's operator,
 *     so the upsert touches each record once.
 *  4. upsert scores, one upsert per operator; the ON CONFLICT arm applies the operator against
 *     the locked current row, so concurrent consumers cannot lose an increment, and leaves rows
 *     the batch does not improve untouched. reached_at is when the edge accepted the event (its
 *     received_at), never the client's occurredAt, which only places it in a period: at an equal
 *     best score the earlier reached_at wins, and `latest` only moves forward in it, so a client
 *     that backdates an event wins nothing.
 *  5. bump the hour's ingest counters.
 * Banned players' events contribute nothing (player_bans), and a record created again after a
 * moderator removed it starts past its removed version (score_tombstones).
 * It returns the final state of every record the batch moved, and of every record named by an
 * already-seen event (a redelivery), so the projection to DOs/Redis is repeated rather than lost
 * after a timeout. A fresh event that moves nothing (a worse score on a best board) returns
 * nothing: there is nothing to project.
 */
export async function persistBatch(
  db: Database,
  queue: string,
  events: EventRow[],
  contributions: ContributionRow[],
  counts: {
    /**
     * Copies of an id already in this batch, dropped before the statement; counted as duplicates.
     */
    inBatchDuplicates?: number;
    /** Items POST /v1/events refused, carried by these messages; added to the hour's counters. */
    rejected?: number;
    /** Which counter row to bump (statements running in parallel use different ones). */
    shard?: number;
    /** 1 if this statement counts as the batch (a batch split into parallel parts counts once). */
    batches?: number;
  } = {},
): Promise<PersistResult> {
  const shard = counts.shard ?? 0;
  const batches = counts.batches ?? 1;
  const inBatchDuplicates = counts.inBatchDuplicates ?? 0;
  const rejected = counts.rejected ?? 0;
  const result = await db.execute(sql`
    with input as (
      -- distinct: a client may repeat an id inside one request; it counts once.
      select distinct on (event_id) *
      from jsonb_to_recordset(${JSON.stringify(events)}::jsonb) as e(
        event_id text, received_at timestamptz, occurred_at timestamptz, type text, player_id text,
        board_id text, tournament_id text, score bigint, display_name text, metadata jsonb,
        payload jsonb)
    ),
    fresh as (
      -- Keyed by the UTC day of occurredAt, the partition key: a retry carries the same body, so
      -- the same day, and meets its first delivery in the same partition (migration 0012).
      insert into event_ids (event_id, occurred_day)
      select event_id, (occurred_at at time zone 'UTC')::date from input order by event_id
      on conflict (event_id, occurred_day) do nothing
      returning event_id
    ),
    fresh_input as (
      select i.* from input i join fresh f on f.event_id = i.event_id
    ),
    stored as (
      insert into events (event_id, received_at, occurred_at, type, player_id, board_id,
                          tournament_id, score, metadata, payload)
      select event_id, received_at, occurred_at, type, player_id, board_id,
             tournament_id, score, metadata, payload
      from fresh_input
      returning 1
    ),
    named as (
      -- Only events that name the player write here: a players row exists for display names.
      insert into players (id, display_name)
      select distinct on (player_id) player_id, display_name
      from fresh_input
      where display_name is not null
      order by player_id, occurred_at desc
      on conflict (id) do update set display_name = excluded.display_name, updated_at = now()
        where excluded.display_name is not null
          and players.display_name is distinct from excluded.display_name
      returning 1
    ),
    contributions as (
      select c.board_id, c.period_key, i.player_id, i.score, i.received_at as reached_at,
             i.occurred_at, i.metadata, i.event_id,
             b.operator, b.sort_order, b.score_overflow,
             coalesce(b.min_score, ${MIN_SAFE}::bigint) as lo,
             coalesce(b.max_score, ${MAX_SAFE}::bigint) as hi,
             (i.event_id in (select event_id from fresh)) as is_fresh
      from (
        select distinct event_id, board_id, period_key
        from jsonb_to_recordset(${JSON.stringify(contributions)}::jsonb)
          as x(event_id text, board_id text, period_key text)
      ) c
      join input i on i.event_id = c.event_id
      join boards b on b.id = c.board_id
      where i.score is not null
        -- A banned player's events move nothing (they are still stored). A ban locks scores
        -- against this statement while it commits, so one running after it sees the ban.
        and not exists (select 1 from player_bans pb where pb.player_id = i.player_id)
        -- A finalised tournament instance is frozen: an event still queued at its end moves nothing.
        and not exists (select 1 from tournament_finalisations f
                        where f.board_id = c.board_id and f.instance_key = c.period_key)
    ),
    -- A best/latest score outside its board's bounds (a board whose bounds changed after the event
    -- was accepted): refused on a "reject" board, kept at the nearest bound on a "clamp" board.
    judged as (
      select *, operator <> 'increment' and score_overflow = 'reject'
                and (score < lo or score > hi) as out_of_range
      from contributions where is_fresh
    ),
    ranked as (
      select board_id, period_key, player_id, operator, sort_order, score_overflow, lo, hi,
             reached_at, occurred_at, metadata, event_id, s.score,
             case when sort_order = 'desc' then -s.score else s.score end as sort_score
      from judged
      cross join lateral (select case when operator = 'increment' then score
                                      else least(greatest(score, lo), hi) end as score) s
      where not out_of_range
    ),
    -- One row per (board, period, player) from ONE sort of the batch (DISTINCT ON), not ordered
    -- aggregates, which Postgres < 16 sorts group by group. The first row of a group is the one
    -- that decides: for best, the better score, then the earlier acceptance (then occurrence, then
    -- id: events of one request share their acceptance time); for latest and increment, the
    -- newest event (its score, time and metadata). Increment adds the group's scores (a window
    -- over the same ordering, so the sort is shared).
    folded as (
      select distinct on (board_id, period_key, player_id)
        board_id, period_key, player_id, operator, sort_order, score_overflow, lo, hi,
        case when operator = 'increment' then sum(score::numeric) over w else score end as score,
        sort_score,
        reached_at,
        metadata
      from ranked
      window w as (
        partition by board_id, period_key, player_id
        order by case when operator = 'best' then sort_score end,
                 case when operator = 'best' then reached_at end,
                 case when operator = 'best' then occurred_at end,
                 case when operator = 'best' then event_id end,
                 reached_at desc, occurred_at desc, event_id desc
        rows between unbounded preceding and unbounded following
      )
      order by board_id, period_key, player_id,
               case when operator = 'best' then sort_score end,
               case when operator = 'best' then reached_at end,
               case when operator = 'best' then occurred_at end,
               case when operator = 'best' then event_id end,
               reached_at desc, occurred_at desc, event_id desc
    ),
    -- Whether an increment keeps its record inside the bounds depends on the record, so the upsert
    -- arm decides it against the locked row. A sum wider than the whole range (hostile input, rare)
    -- could not even be inserted as a new record: those records are read and locked here, and their
    -- step computed against what they hold (a step that would leave the bounds on a "reject" board
    -- is dropped: no row, nothing moves).
    wide as (
      select * from folded where operator = 'increment' and (score < lo or score > hi)
    ),
    wide_held as (
      select s.board_id, s.period_key, s.player_id, s.score from scores s
      join wide w
        on s.board_id = w.board_id and s.period_key = w.period_key and s.player_id = w.player_id
      order by 1, 2, 3
      for update of s
    ),
    agg as (
      -- An increment's sort_score is that of its sum, not of the row that decided the fold.
      select f.board_id, f.period_key, f.player_id, f.operator, f.reached_at, f.metadata,
             f.score::bigint as score,
             case when f.operator <> 'increment' then f.sort_score
                  when f.sort_order = 'desc' then -f.score::bigint
                  else f.score::bigint end
               as sort_score
      from folded f where not (f.operator = 'increment' and (f.score < f.lo or f.score > f.hi))
      union all
      select w.board_id, w.period_key, w.player_id, w.operator, w.reached_at, w.metadata,
             n.added::bigint,
             case when w.sort_order = 'desc' then -n.added::bigint else n.added::bigint end
      from wide w
      left join wide_held h
        on h.board_id = w.board_id and h.period_key = w.period_key and h.player_id = w.player_id
      cross join lateral (
        select coalesce(h.score, 0) as held,
               least(greatest(coalesce(h.score, 0) + w.score, w.lo), w.hi) - coalesce(h.score, 0)
                 as added
      ) n
      where w.score_overflow = 'clamp' or (n.held + w.score between w.lo and w.hi)
    ),
    -- One upsert per operator, so each ON CONFLICT arm is a plain expression over the locked row
    -- (only increment's looks up its board's bounds) and can skip rows the batch does not move: a
    -- score that does not beat a best, or an event older than the latest, writes nothing (no new
    -- row version, no index entries) and is not returned, so it is not projected either. Each
    -- upsert locks its rows in one order (board, period, player), the same in every consumer, so
    -- concurrent batches wait for each other instead of deadlocking.
    upserted_best as (${upsertFrom(
      "best",
      TAKE_EXCLUDED,
      // Better, or as good and reached earlier (the tie-break).
      sql`where excluded.sort_score < s.sort_score
        or (excluded.sort_score = s.sort_score and excluded.reached_at < s.reached_at)`,
    )}),
    upserted_latest as (${upsertFrom(
      "latest",
      TAKE_EXCLUDED,
      // Only a newer event replaces: a late one never overwrites what came after it.
      sql`where excluded.reached_at > s.reached_at`,
    )}),
    upserted_increment as (${upsertFrom(
      "increment",
      // Against the locked row: the sum, kept at the bound on a "clamp" board; on a "reject" board
      // a sum outside the bounds leaves the row as it is (and is reported as refused below).
      sql`(select n.score, case when b.sort_order = 'desc' then -n.score else n.score end,
                  greatest(s.reached_at, excluded.reached_at),
                  case when excluded.reached_at >= s.reached_at
                       then coalesce(excluded.metadata, s.metadata) else s.metadata end,
                  s.version + 1, now()
           from boards b
           cross join lateral (
             select least(greatest(s.score::numeric + excluded.score,
                                   coalesce(b.min_score, ${MIN_SAFE}::bigint)),
                          coalesce(b.max_score, ${MAX_SAFE}::bigint))::bigint as score
           ) n
           where b.id = s.board_id)`,
      sql`where (select b.score_overflow = 'clamp'
                        or s.score::numeric + excluded.score
                             between coalesce(b.min_score, ${MIN_SAFE}::bigint)
                                 and coalesce(b.max_score, ${MAX_SAFE}::bigint)
                 from boards b where b.id = s.board_id)`,
    )}),
    upserted as (
      select * from upserted_best
      union all select * from upserted_latest
      union all select * from upserted_increment
    ),
    -- The band-count lock of every board-period the upserts moved, in lock-key order, taken after
    -- the upserts' row locks (reading "upserted" runs them) and before the statement's band
    -- triggers fire, which then hold them already: whatever order the triggers fire in, this
    -- statement never takes a band lock out of order, so concurrent batches cannot deadlock, and
    -- batches of other board-periods do not wait (migration 0013).
    band_locks as (
      select count(*) as n from (
        select pg_advisory_xact_lock(k) from (
          select distinct score_band_lock_key(board_id, period_key) as k from upserted order by 1
        ) keys
      ) locked
    ),
    -- Events a "reject" board refused: a best/latest score outside the bounds, and the events of
    -- every increment record whose sum would have left them (the arm left it untouched, or a sum
    -- wider than the range was dropped). Usually none, so the joins below scan nothing.
    refused_records as (
      select board_id, period_key, player_id from folded where operator = 'increment'
      except
      select board_id, period_key, player_id from upserted_increment
    ),
    refused as (
      select distinct on (event_id) event_id, board_id, player_id, score from (
        select event_id, board_id, player_id, score from judged where out_of_range
        union all
        select r.event_id, r.board_id, r.player_id, r.score from ranked r
        join refused_records x
          on x.board_id = r.board_id and x.period_key = r.period_key and x.player_id = r.player_id
        where r.operator = 'increment'
      ) e
      order by event_id
    ),
    noted as (
      insert into score_rejections (event_id, board_id, player_id, code, score)
      select event_id, board_id, player_id, 'SCORE_OUT_OF_RANGE', score from refused
      on conflict (event_id) do nothing
      returning 1
    ),
    -- Records named by already-seen events (a redelivery) that this batch did not move: their
    -- current state is read so it can be projected again (the first delivery may have committed
    -- and then failed to project); records the batch moved come from the upserts themselves.
    unmoved_keys as (
      select distinct board_id, period_key, player_id from contributions where not is_fresh
      except
      select board_id, period_key, player_id from upserted
    ),
    moved_or_named as (
      select board_id, period_key, player_id, score, reached_at, version, metadata, true as changed
      from upserted
      union all
      select cur.board_id, cur.period_key, cur.player_id, cur.score, cur.reached_at, cur.version,
             cur.metadata, false
      from unmoved_keys k
      join scores cur on cur.board_id = k.board_id and cur.period_key = k.period_key
                     and cur.player_id = k.player_id
    ),
    -- Display names for the projections: this batch's (not yet visible in players) or stored ones.
    batch_names as (
      select distinct on (player_id) player_id, display_name from fresh_input
      where display_name is not null order by player_id, occurred_at desc
    ),
    final as (
      select m.*, coalesce(bn.display_name, p.display_name) as display_name
      from moved_or_named m
      left join batch_names bn on bn.player_id = m.player_id
      left join players p on p.id = m.player_id
    ),
    counted as (
      insert into ingest_stats as st (hour, queue, shard, persisted, duplicates, rejected,
                                      out_of_range, batches, lag_ms_total, lag_ms_max,
                                      last_batch_at)
      select date_trunc('hour', now()), ${queue}, ${shard}::smallint,
             (select count(*) from fresh),
             (select count(*) from input) - (select count(*) from fresh)
               + ${inBatchDuplicates}::int,
             ${rejected}::int,
             (select count(*) from noted),
             ${batches}::int,
             coalesce((select sum(extract(epoch from now() - received_at) * 1000)::bigint
                       from fresh_input), 0),
             coalesce((select max(extract(epoch from now() - received_at) * 1000)::bigint
                       from fresh_input), 0),
             now()
      on conflict (hour, queue, shard) do update set
        persisted = st.persisted + excluded.persisted,
        duplicates = st.duplicates + excluded.duplicates,
        rejected = st.rejected + excluded.rejected,
        out_of_range = st.out_of_range + excluded.out_of_range,
        batches = st.batches + excluded.batches,
        lag_ms_total = st.lag_ms_total + excluded.lag_ms_total,
        lag_ms_max = greatest(st.lag_ms_max, excluded.lag_ms_max),
        last_batch_at = excluded.last_batch_at
      returning 1
    )
    select
      (select count(*) from fresh)::int as persisted,
      ((select count(*) from input) - (select count(*) from fresh)
        + ${inBatchDuplicates}::int)::int as duplicates,
      (select json_agg(distinct event_id) from refused) as refused,
      (extract(epoch from now()) * 1000)::bigint as written_at,
      (select json_agg(json_build_object(
         'boardId', board_id, 'periodKey', period_key, 'playerId', player_id,
         'score', score, 'reachedAt', reached_at, 'version', version, 'changed', changed,
         'displayName', display_name, 'metadata', metadata))
       from final where score is not null) as changes,
      (select n from band_locks) as _band_locks,
      (select count(*) from stored) + (select count(*) from named) + (select count(*) from counted)
        as _touched
  `);
  const row = result.rows[0] as
    | {
        persisted: number;
        duplicates: number;
        refused: string[] | null;
        written_at: string | number;
        changes: RawChange[] | null;
      }
    | undefined;
  if (!row) throw new Error("persistBatch: the statement returned no row");
  return {
    persisted: Number(row.persisted),
    duplicates: Number(row.duplicates),
    refused: row.refused ?? [],
    writtenAt: Number(row.written_at),
    changes: (row.changes ?? []).map((c) => ({
      boardId: c.boardId,
      periodKey: c.periodKey,
      playerId: c.playerId,
      score: Number(c.score),
      reachedAt: Date.parse(c.reachedAt),
      version: Number(c.version),
      changed: c.changed,
      displayName: c.displayName ?? null,
      metadata: c.metadata ?? null,
    })),
  };
}

type RawChange = {
  boardId: string;
  periodKey: string;
  playerId: string;
  score: number | string;
  reachedAt: string;
  version: number | string;
  changed: boolean;
  displayName: string | null;
  metadata: Record<string, unknown> | null;
};
