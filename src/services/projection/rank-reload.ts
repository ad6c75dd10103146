import type { Redis } from "@upstash/redis/cloudflare";
import { type SQL, sql } from "drizzle-orm";
import { withTimeout } from "../../lib/timeout";
import type { Database } from "../../stores/postgres/client";
import {
  isBuildGone,
  type RedisRankRow,
  readyMarker,
  replaceBoardPeriod,
  startBoardPeriodLoad,
} from "../../stores/redis/ranks";

/** Rows per Postgres read: one keyset range of scores_rank_idx, about 150 KB of reply. */
const RELOAD_READ_CHUNK = 5_000;
/**
 * How far before a reload started (or a catch-up's time) a row's updated_at may be and still be
 * re-applied. A batch's rows carry its transaction's start time, so a batch that began before the
 * load but committed after the keyset passed its rows is caught as long as it took less than this.
 */
const MOVED_MARGIN_MS = 60_000;
const READ_TIMEOUT_MS = 20_000;
/**
 * How long a reload's lease lasts without renewal (every chunk renews it). A run that dies leaves
 * the reload to the first run after this; a live holder never goes this long between chunks.
 */
const LEASE_MS = 60_000;

/** How much of one board-period's reload a run may do. */
export interface ReloadBudget {
  /** Rows read from Postgres and loaded (the catch-up at the end is not counted). */
  rows: number;
  /** Wall time, checked after each chunk. */
  ms: number;
}

type ScoreRow = {
  player_id: string;
  sort_score: string | number;
  reached_at_ms: string | number;
  version: string | number;
  display_name: string | null;
  metadata: Record<string, unknown> | null;
};

/**
 * What the rank store needs of a scores row (reached_at as exact epoch ms, the player's name
 * beside it), as ScoreRow; read FROM SCORED_ROWS.
 */
const SCORE_COLUMNS = sql`s.player_id, s.sort_score,
  (extract(epoch from s.reached_at) * 1000)::bigint as reached_at_ms, s.version,
  p.display_name, s.metadata`;
const SCORED_ROWS = sql`scores s left join players p on p.id = s.player_id`;

const toRow = (r: ScoreRow): RedisRankRow => ({
  playerId: r.player_id,
  sortScore: Number(r.sort_score),
  reachedAt: Number(r.reached_at_ms),
  version: Number(r.version),
  displayName: r.display_name,
  metadata: r.metadata,
});

/** What one run did of a board-period's reload. */
export interface ReloadStep {
  /**
   * done: swapped in, marked ready and caught up; progress: more runs needed; busy: another run
   * holds the lease, or has just done the reload (nothing done).
   */
  status: "done" | "progress" | "busy";
  /** Rows this run read and loaded. */
  rows: number;
  /** Rows loaded so far over every run (the board-period's size once done). */
  loaded: number;
  /** Rows updated while the reload ran, applied again before the swap (version-guarded). */
  moved: number;
  /** Board-period size in Redis after the swap (done only). */
  total: number | null;
  /** When the reload began (Postgres epoch ms): resync requests older than this are satisfied. */
  startedAt: number;
}

/** The lease row of a board-period's reload, as a run took it. */
type ReloadRow = {
  build_token: string;
  started_at: string;
  after_sort_score: string | null;
  after_reached_at: string | null;
  after_player_id: string | null;
  rows: number;
  built_at: string | null;
};

/** Thrown when a run finds its lease taken over (it ran past it): it stops writing. */
class LeaseLostError extends Error {
  constructor() {
    super("rank reload: the lease passed to another run");
    this.name = "LeaseLostError";
  }
}

/**
 * One run's share of a board-period's reload from Postgres into Redis, under a lease (the
 * rank_reloads row: at most one run works on a board-period at a time, whoever runs it; a lease
 * whose holder died expires after LEASE_MS and the next run continues from the cursor):
 *  - `scores` is read in rank order by keyset chunks into private build keys, up to the budget,
 *    the cursor recorded with each chunk (only while the lease is still ours);
 *  - when the keyset reaches the end, every row updated since shortly before the reload began is
 *    applied to the build keys too (rows that moved behind the cursor, or changed after their
 *    chunk), then the build is swapped over the live keys in one step with the ready marker at
 *    that catch-up's time, and the rows updated since shortly before it are applied to the live
 *    keys (the projections the swap overwrote). Both are version-guarded, so repeats are harmless.
 * A build whose keys are gone (they expired while the reload stalled) starts over.
 */
export async function reloadStep(
  db: Database,
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  /** When the board-period's keys expire (epoch ms, pastPeriodExpiryMs); null: never. */
  expiresAt: number | null,
  budget: ReloadBudget,
  /** This run's id (the lease holder). */
  holder: string,
  /**
   * Asked when this run would start a new reload (none in progress): whether it is still needed.
   * A run that saw the need before an overlapping run finished the reload must not do it again.
   */
  stillDue: () => Promise<boolean> = async () => true,
): Promise<ReloadStep> {
  const started = Date.now();
  const token = crypto.randomUUID();
  let row = await takeLease(db, boardId, periodKey, holder, token);
  if (!row) return { status: "busy", rows: 0, loaded: 0, moved: 0, total: null, startedAt: 0 };
  const where = sql`board_id = ${boardId} and period_key = ${periodKey}
    and holder = ${holder} and build_token = ${row.build_token}`;
  if (row.build_token === token && !(await stillDue())) {
    await finish(db, boardId, periodKey, token);
    return { status: "busy", rows: 0, loaded: 0, moved: 0, total: null, startedAt: 0 };
  }
  /** Records progress and renews the lease, only while it is ours. */
  const fence = async (set: SQL) => {
    const updated = await bounded(
      db.execute(sql`update rank_reloads set ${set},
        lease_until = now() + ${LEASE_MS}::bigint * interval '1 millisecond'
        where ${where} returning 1`),
    );
    if (updated.rows.length === 0) throw new LeaseLostError();
  };
  let runRows = 0;
  try {
    for (let attempt = 0; ; attempt += 1) {
      const startedAt = Number(row.started_at);
      let loaded = row.rows;
      const load = startBoardPeriodLoad(redis, prefix, boardId, periodKey, {
        expiresAt,
        token: row.build_token,
        resumed: loaded > 0,
      });
      try {
        if (row.built_at === null) {
          let after = row.after_player_id === null ? undefined : row;
          let finished = false;
          while (runRows < budget.rows && Date.now() - started < budget.ms) {
            const limit = Math.min(RELOAD_READ_CHUNK, budget.rows - runRows);
            const chunk = await readChunk(db, boardId, periodKey, after, limit + 1);
            const take = chunk.slice(0, limit);
            if (take.length > 0) await load.add(take.map(toRow));
            runRows += take.length;
            loaded += take.length;
            finished = chunk.length <= limit;
            const last = take.at(-1);
            if (last)
              after = {
                ...row,
                after_sort_score: String(last.sort_score),
                after_reached_at: String(last.reached_at_ms),
                after_player_id: last.player_id,
              };
            await fence(sql`rows = ${loaded},
              after_sort_score = ${after?.after_sort_score ?? null}::bigint,
              after_reached_at = ${after?.after_reached_at ?? null}::bigint,
              after_player_id = ${after?.after_player_id ?? null}`);
            if (finished) break;
          }
          if (!finished) {
            await release(db, where);
            return { status: "progress", rows: runRows, loaded, moved: 0, total: null, startedAt };
          }
          // Everything updated since shortly before the reload began goes into the build too.
          const builtAt = await postgresNow(db);
          let moved = 0;
          for await (const rows of movedRows(db, boardId, periodKey, startedAt - MOVED_MARGIN_MS)) {
            await load.add(rows);
            moved += rows.length;
          }
          loaded += moved;
          await fence(sql`rows = ${loaded}, built_at = ${builtAt}::bigint`);
          row = { ...row, rows: loaded, built_at: String(builtAt) };
          const total = await load.commit(builtAt, loaded);
          await catchUp(db, redis, prefix, boardId, periodKey, expiresAt, builtAt);
          await finish(db, boardId, periodKey, row.build_token);
          return { status: "done", rows: runRows, loaded, moved, total, startedAt };
        }
        // Built by an earlier run that stopped before (or right after) the swap.
        const builtAt = Number(row.built_at);
        const total = await load.commit(builtAt, loaded).catch(async (error) => {
          // Gone: swapped in already if the marker is at least the build's, else expired.
          if (!isBuildGone(error)) throw error;
          const marker = await readyMarker(redis, prefix, boardId, periodKey);
          if ((marker ?? 0) < builtAt) throw error;
          return null;
        });
        await fence(sql`rows = ${loaded}`);
        await catchUp(db, redis, prefix, boardId, periodKey, expiresAt, builtAt);
        await finish(db, boardId, periodKey, row.build_token);
        return { status: "done", rows: runRows, loaded, moved: 0, total, startedAt };
      } catch (error) {
        if (!isBuildGone(error) || attempt > 0) throw error;
        // The build expired while the reload stalled: start over, under the same lease.
        row = await restart(db, where);
      }
    }
  } catch (error) {
    if (!(error instanceof LeaseLostError)) await release(db, where).catch(() => undefined);
    throw error;
  }
}

/**
 * Loads one board-period whole, in as many steps as it takes (no row or time bound): for callers
 * that need it done now (tests, tools). Waits for another run's lease to end first.
 */
export async function reloadBoardPeriod(
  db: Database,
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  expiresAt: number | null,
): Promise<{ rows: number; moved: number; total: number | null; startedAt: number }> {
  const holder = crypto.randomUUID();
  let rows = 0;
  for (let i = 0; i < 10_000; i += 1) {
    const step = await reloadStep(
      db,
      redis,
      prefix,
      boardId,
      periodKey,
      expiresAt,
      {
        rows: Number.MAX_SAFE_INTEGER,
        ms: Number.MAX_SAFE_INTEGER,
      },
      holder,
    );
    rows += step.rows;
    if (step.status === "done")
      return { rows, moved: step.moved, total: step.total, startedAt: step.startedAt };
    if (step.status === "busy") await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("rank reload: never finished");
}

/**
 * Re-applies the records of a board-period updated since `sinceMs` (a failed projection's time)
 * to its live keys, version-guarded, raising the marker to the time they were read: what a failed
 * projection left stale, without reloading the rest. Null when more than `maxRows` moved (nothing
 * written): a reload is then cheaper.
 */
export async function resyncRecords(
  db: Database,
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  expiresAt: number | null,
  sinceMs: number,
  maxRows: number,
): Promise<{ rows: number; startedAt: number } | null> {
  const startedAt = await postgresNow(db);
  const rows: RedisRankRow[] = [];
  for await (const chunk of movedRows(db, boardId, periodKey, sinceMs - MOVED_MARGIN_MS)) {
    rows.push(...chunk);
    if (rows.length > maxRows) return null;
  }
  if (rows.length > 0)
    await replaceBoardPeriod(redis, prefix, boardId, periodKey, rows, {
      reset: false,
      expiresAt,
      watermark: startedAt,
    });
  return { rows: rows.length, startedAt };
}

/** Takes the board-period's lease (a new reload, or one whose holder's lease ran out); or null. */
async function takeLease(
  db: Database,
  boardId: string,
  periodKey: string,
  holder: string,
  token: string,
): Promise<ReloadRow | null> {
  const result = await bounded(
    db.execute<ReloadRow>(sql`
      insert into rank_reloads (board_id, period_key, build_token, started_at, holder, lease_until)
      values (${boardId}, ${periodKey}, ${token},
        (extract(epoch from now()) * 1000)::bigint, ${holder},
        now() + ${LEASE_MS}::bigint * interval '1 millisecond')
      on conflict (board_id, period_key) do update
        set holder = excluded.holder, lease_until = excluded.lease_until
        where rank_reloads.lease_until < now() or rank_reloads.holder = excluded.holder
      returning build_token, started_at::text, after_sort_score::text, after_reached_at::text,
        after_player_id, rows, built_at::text`),
  );
  return result.rows[0] ?? null;
}

/** A stalled build whose keys expired: the same lease starts a new build from the first row. */
async function restart(db: Database, where: SQL): Promise<ReloadRow> {
  const result = await bounded(
    db.execute<ReloadRow>(sql`
      update rank_reloads set build_token = ${crypto.randomUUID()},
        started_at = (extract(epoch from now()) * 1000)::bigint, rows = 0, built_at = null,
        after_sort_score = null, after_reached_at = null, after_player_id = null
      where ${where}
      returning build_token, started_at::text, after_sort_score::text, after_reached_at::text,
        after_player_id, rows, built_at::text`),
  );
  const row = result.rows[0];
  if (!row) throw new LeaseLostError();
  return row;
}

/** Ends this run's lease early, so the next run continues at once. */
async function release(db: Database, where: SQL): Promise<void> {
  await bounded(db.execute(sql`update rank_reloads set lease_until = now() where ${where}`));
}

/** The reload is complete: its row goes (whoever holds the lease now; the build is the same). */
async function finish(db: Database, boardId: string, periodKey: string, token: string) {
  await bounded(
    db.execute(sql`delete from rank_reloads where board_id = ${boardId}
      and period_key = ${periodKey} and build_token = ${token}`),
  );
}

/** After the swap: rows updated since shortly before the build's catch-up, onto the live keys. */
async function catchUp(
  db: Database,
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  expiresAt: number | null,
  builtAt: number,
): Promise<void> {
  const movedAt = await postgresNow(db);
  for await (const rows of movedRows(db, boardId, periodKey, builtAt - MOVED_MARGIN_MS))
    await replaceBoardPeriod(redis, prefix, boardId, periodKey, rows, {
      reset: false,
      expiresAt,
      watermark: movedAt,
    });
}

/** One keyset range of the ranking order, strictly after `after`. */
async function readChunk(
  db: Database,
  boardId: string,
  periodKey: string,
  after: Pick<ReloadRow, "after_sort_score" | "after_reached_at" | "after_player_id"> | undefined,
  limit: number,
): Promise<ScoreRow[]> {
  // Keyset on the index order (sort_score, reached_at, player_id), the cursor's reached_at
  // rebuilt exactly from epoch ms, so the range stays one index scan.
  const result = await bounded(
    db.execute<ScoreRow>(sql`
      select ${SCORE_COLUMNS}
      from ${SCORED_ROWS}
      where s.board_id = ${boardId} and s.period_key = ${periodKey}
        ${
          after
            ? sql`and (s.sort_score, s.reached_at, s.player_id) > (${after.after_sort_score}::bigint,
                timestamptz 'epoch' + ${after.after_reached_at}::bigint * interval '1 millisecond',
                ${after.after_player_id})`
            : sql``
        }
      order by s.sort_score, s.reached_at, s.player_id
      limit ${limit}`),
  );
  return result.rows;
}

/** Rows of a board-period updated at or after `sinceMs`, in chunks by player id. */
async function* movedRows(
  db: Database,
  boardId: string,
  periodKey: string,
  sinceMs: number,
): AsyncGenerator<RedisRankRow[]> {
  let after: string | undefined;
  for (;;) {
    const result = await bounded(
      db.execute<ScoreRow>(movedRowsQuery(boardId, periodKey, sinceMs, after)),
    );
    if (result.rows.length > 0) yield result.rows.map(toRow);
    if (result.rows.length < RELOAD_READ_CHUNK) return;
    after = result.rows.at(-1)?.player_id;
  }
}

/**
 * One chunk of movedRows: the rows updated since `sinceMs`, after player `after`. Exported for the
 * test that checks its plan reads scores_updated_idx rather than the whole board-period.
 */
export function movedRowsQuery(
  boardId: string,
  periodKey: string,
  sinceMs: number,
  after: string | undefined,
): SQL {
  return sql`
    select ${SCORE_COLUMNS}
    from ${SCORED_ROWS}
    where s.board_id = ${boardId} and s.period_key = ${periodKey}
      and s.updated_at >= timestamptz 'epoch' + ${sinceMs}::bigint * interval '1 millisecond'
      ${after === undefined ? sql`` : sql`and s.player_id > ${after}`}
    order by s.player_id
    limit ${RELOAD_READ_CHUNK}`;
}

/** Postgres' clock (epoch ms): watermarks compare times of one clock only. */
async function postgresNow(db: Database): Promise<number> {
  const result = await bounded(
    db.execute<{ ms: string }>(sql`select (extract(epoch from now()) * 1000)::bigint::text as ms`),
  );
  return Number(result.rows[0]?.ms);
}

function bounded<T>(promise: Promise<T>): Promise<T> {
  return withTimeout(promise, READ_TIMEOUT_MS, "Postgres read for a Redis reload");
}
