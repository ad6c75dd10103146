import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SETTLE_MS } from "../../src/domain";
import worker from "../../src/index";
import { runRollups } from "../../src/services/operations/rollups";
import { openDatabase } from "../../src/stores/postgres/client";
import { makeRandom } from "../domain/prng";
import { type OwnDatabase, ownDatabase, queryOn } from "../helpers/own-database";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** One raw event as the test writes it; stamp is its stored_at (null: stored before the column). */
interface RawEvent {
  id: string;
  type: string;
  player: string;
  board: string | null;
  score: number | null;
  occurredAt: number;
  receivedAt: number;
  storedAt: number | null;
}

const stampOf = (e: RawEvent) => e.storedAt ?? e.receivedAt;

/** The rollups recomputed from raw events, keyed as the table is: span|bucket|type|board. */
function recompute(events: readonly RawEvent[]): Map<string, string> {
  const rows = new Map<
    string,
    { events: number; players: Set<string>; scoreEvents: number; sum: bigint; max: number | null }
  >();
  for (const e of events) {
    for (const [span, ms] of [
      ["hour", HOUR],
      ["day", DAY],
    ] as const) {
      const bucket = new Date(Math.floor(e.occurredAt / ms) * ms).toISOString();
      for (const [type, board] of [
        [e.type, e.board ?? ""],
        ["", ""],
      ]) {
        const key = `${span}|${bucket}|${type}|${board}`;
        const row = rows.get(key) ?? {
          events: 0,
          players: new Set<string>(),
          scoreEvents: 0,
          sum: 0n,
          max: null,
        };
        row.events += 1;
        row.players.add(e.player);
        if (e.score !== null) {
          row.scoreEvents += 1;
          row.sum += BigInt(e.score);
          row.max = row.max === null ? e.score : Math.max(row.max, e.score);
        }
        rows.set(key, row);
      }
    }
  }
  return new Map(
    [...rows].map(([key, r]) => [
      key,
      `${r.events} ${r.players.size} ${r.scoreEvents} ${r.sum} ${r.max}`,
    ]),
  );
}

// Rollups are whole-table (every event of the database is folded): a database of its own.
describe("rollups job (a database of its own; real Postgres only)", () => {
  let own: OwnDatabase | null = null;
  beforeAll(async () => {
    own = await ownDatabase("rollups");
  });
  afterAll(async () => {
    await own?.drop();
  });
  const ownEnv = () => {
    if (!own) throw new Error("no database of its own");
    return own.env;
  };
  const query = <T>(statement: ReturnType<typeof sql>) => queryOn<T>(ownEnv(), statement);
  /** One run of the job on a connection of its own, with the test's clock and bounds. */
  async function rollUp(now: number, bounds = { maxRows: 1_000_000, maxSeconds: 60 }) {
    const handle = openDatabase(ownEnv(), { maxConnections: 1 });
    try {
      return await runRollups(handle.db, { now: new Date(now), bounds });
    } finally {
      await handle.close();
    }
  }
  async function insert(events: readonly RawEvent[]): Promise<void> {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const rows = events.map((e) => ({
      event_id: e.id,
      type: e.type,
      player_id: e.player,
      board_id: e.board,
      score: e.score,
      occurred_at: iso(e.occurredAt),
      received_at: iso(e.receivedAt),
      stored_at: iso(e.storedAt),
    }));
    for (let i = 0; i < rows.length; i += 2_000) {
      await query(sql`insert into events (event_id, type, player_id, board_id, score, occurred_at,
          received_at, stored_at)
        select event_id, type, player_id, board_id, score, occurred_at, received_at, stored_at
        from jsonb_to_recordset(${JSON.stringify(rows.slice(i, i + 2_000))}::jsonb) as e(
          event_id text, type text, player_id text, board_id text, score bigint,
          occurred_at timestamptz, received_at timestamptz, stored_at timestamptz)`);
    }
  }
  async function rollups(): Promise<Map<string, string>> {
    const rows = await query<{
      span: string;
      bucket: string;
      event_type: string;
      board_id: string;
      events: string;
      players: string;
      score_events: string;
      score_sum: string;
      score_max: string | null;
    }>(sql`select span, bucket, event_type, board_id, events, players, score_events,
        score_sum::text as score_sum, score_max from rollups`);
    return new Map(
      rows.map((r) => [
        `${r.span}|${new Date(r.bucket).toISOString()}|${r.event_type}|${r.board_id}`,
        `${r.events} ${r.players} ${r.score_events} ${r.score_sum} ${r.score_max}`,
      ]),
    );
  }
  const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

  beforeEach(async () => {
    if (own) await query(sql`truncate events, rollups, rollup_players, rollup_progress, job_runs`);
  });

  /** A random event set over a few hours of stamps, some stored late, some before stored_at. */
  function randomEvents(seed: number, count: number, start: number): RawEvent[] {
    const random = makeRandom(seed);
    const players = Array.from({ length: 12 }, (_, i) => `p${i}`);
    const boards = [null, "b1", "b2"];
    const types = ["score", "level_up", "session_start"];
    return Array.from({ length: count }, (_, i) => {
      const stored = start + random.int(0, 5 * HOUR);
      // One in five arrives late (up to the 7-day window); the rest within minutes.
      const late = random.int(0, 4) === 0;
      const occurred = stored - (late ? random.int(HOUR, 7 * DAY) : random.int(0, 10 * MIN));
      const received = Math.min(stored, occurred + random.int(0, 5 * MIN));
      const board = random.pick(boards);
      const hasScore = board !== null || random.int(0, 9) === 0;
      return {
        id: `e${seed}-${i}`,
        type: random.pick(types),
        player: random.pick(players),
        board,
        score: hasScore ? random.int(-1_000, 1_000_000) : null,
        occurredAt: occurred,
        receivedAt: received,
        // A few rows from before the column existed: their received_at is their stamp.
        storedAt: random.int(0, 19) === 0 ? null : stored,
      };
    });
  }

  it("equals a recomputation from raw events over random sets, late events and re-runs included", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const start = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
    for (const seed of [1, 2, 3]) {
      await query(sql`truncate events, rollups, rollup_players, rollup_progress`);
      const random = makeRandom(seed * 7);
      const all = randomEvents(seed, 400, start);
      // Waves: events are inserted by their stamp, and a run after each wave, with bounds small
      // enough that a wave takes several runs; late events land in hours rolled up long before.
      let stored: RawEvent[] = [];
      for (let wave = 1; wave <= 4; wave += 1) {
        const until = start + (wave * 5 * HOUR) / 4;
        const batch = all.filter((e) => stampOf(e) < until && !stored.includes(e));
        await insert(batch);
        stored = [...stored, ...batch];
        const now = until + SETTLE_MS;
        const bounds = { maxRows: random.int(20, 150), maxSeconds: 60 };
        let runs = 0;
        for (;;) {
          const run = await rollUp(now, bounds);
          expect(run.folded).toBeLessThanOrEqual(bounds.maxRows);
          runs += 1;
          if (run.caughtUp) break;
          expect(runs).toBeLessThan(100);
        }
        const cutoff = now - SETTLE_MS;
        expect(sorted(await rollups())).toEqual(
          sorted(recompute(stored.filter((e) => stampOf(e) < cutoff))),
        );
        // Re-running changes nothing.
        const again = await rollUp(now);
        expect(again).toMatchObject({ folded: 0, caughtUp: true });
        expect(sorted(await rollups())).toEqual(
          sorted(recompute(stored.filter((e) => stampOf(e) < cutoff))),
        );
      }
    }
  }, 120_000);

  it("leaves events stored within the settle margin to the next run", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const now = Math.floor(Date.now() / HOUR) * HOUR + 30 * MIN;
    const events = randomEvents(9, 50, now - 2 * HOUR).map((e, i) => ({
      ...e,
      storedAt: i % 2 === 0 ? now - SETTLE_MS - 1 : now - SETTLE_MS + 1,
    }));
    await insert(events);
    const first = await rollUp(now);
    expect(first.rolledUpTo).toBe(new Date(now - SETTLE_MS).toISOString());
    expect(first.folded).toBe(25);
    expect(sorted(await rollups())).toEqual(
      sorted(recompute(events.filter((_, i) => i % 2 === 0))),
    );
    // The current hour's partial figures are there; the next run adds the rest.
    const second = await rollUp(now + HOUR);
    expect(second.folded).toBe(25);
    expect(sorted(await rollups())).toEqual(sorted(recompute(events)));
  });

  it("gives the same rows when two runs overlap", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const start = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
    const events = randomEvents(4, 3_000, start);
    await insert(events);
    const now = start + 5 * HOUR + SETTLE_MS;
    // Two runs at once, each on its own connection, in small steps so they interleave.
    const bounds = { maxRows: 1_000_000, maxSeconds: 60 };
    const runs = await Promise.all([rollUp(now, bounds), rollUp(now, bounds)]);
    expect(runs.every((r) => r.caughtUp)).toBe(true);
    expect(runs[0].folded + runs[1].folded).toBe(events.length);
    expect(sorted(await rollups())).toEqual(sorted(recompute(events)));
  });

  it("drains a backlog of 200,000 events over successive runs, each within its bounds", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const total = 200_000;
    // Stored over two hours, occurred up to a day earlier, over 50 types x boards and 5,000 players.
    await query(sql`insert into events (event_id, type, player_id, board_id, score, occurred_at,
        received_at, stored_at)
      select 'bulk-' || i, 'type' || (i % 5), 'player' || (i * 7919 % 5000),
             case when i % 10 = 0 then null else 'board' || (i % 10) end,
             case when i % 3 = 0 then null else i % 100000 end,
             s - make_interval(secs => (i * 104729 % 86400)), s, s
      from generate_series(1::bigint, ${total}) as i,
           lateral (select ${new Date(start).toISOString()}::timestamptz
                           + make_interval(secs => i * 7200.0 / ${total}) as s) t`);
    const now = start + 2 * HOUR + SETTLE_MS + MIN;
    const bounds = { maxRows: 45_000, maxSeconds: 20 };
    const folds: number[] = [];
    for (;;) {
      const began = Date.now();
      const run = await rollUp(now, bounds);
      // Within its bounds: the rows, and the seconds (plus at most the step in flight).
      expect(run.folded).toBeLessThanOrEqual(bounds.maxRows);
      expect(Date.now() - began).toBeLessThan((bounds.maxSeconds + 10) * 1000);
      folds.push(run.folded);
      if (run.caughtUp) break;
      expect(folds.length).toBeLessThan(20);
    }
    expect(folds.length).toBeGreaterThanOrEqual(Math.ceil(total / bounds.maxRows));
    expect(folds.reduce((a, b) => a + b, 0)).toBe(total);
    // The drained rollups equal a recomputation from the raw events.
    const mismatched = await query<{ n: string }>(sql`
      with src as (
        select type, coalesce(board_id, '') as board, player_id, score,
               date_trunc('hour', occurred_at, 'UTC') as h, date_trunc('day', occurred_at, 'UTC') as d
        from events
      ), keyed as (
        select 'hour' as span, h as bucket, type, board, player_id, score from src
        union all select 'hour', h, '', '', player_id, score from src
        union all select 'day', d, type, board, player_id, score from src
        union all select 'day', d, '', '', player_id, score from src
      ), raw as (
        select span, bucket, type, board, count(*) as events, count(distinct player_id) as players,
               count(score) as score_events, coalesce(sum(score), 0) as score_sum,
               max(score) as score_max
        from keyed group by 1, 2, 3, 4
      ), rolled as (
        select span, bucket, event_type, board_id, events, players, score_events, score_sum,
               score_max
        from rollups
      )
      select (select count(*) from (select * from raw except select * from rolled) a)
           + (select count(*) from (select * from rolled except select * from raw) b) as n`);
    expect(Number(mismatched[0]?.n)).toBe(0);
  }, 300_000);

  it("stops at the seconds bound and goes on from there next run", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const start = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
    const events = randomEvents(5, 1_000, start);
    await insert(events);
    const now = start + 5 * HOUR + SETTLE_MS;
    // A clock that moves a second per reading: a 3-second bound allows two steps.
    let t = 0;
    const handle = openDatabase(ownEnv(), { maxConnections: 1 });
    try {
      const bounds = { maxRows: 1_000_000, maxSeconds: 3 };
      const run = await runRollups(handle.db, {
        now: new Date(now),
        bounds,
        clock: () => (t += 1000),
      });
      expect(run.steps).toBeLessThanOrEqual(2);
      expect(run.caughtUp).toBe(false);
    } finally {
      await handle.close();
    }
    for (let i = 0; i < 100 && !(await rollUp(now)).caughtUp; i += 1);
    expect(sorted(await rollups())).toEqual(sorted(recompute(events)));
  });

  it("takes a millisecond holding more than the bound whole as a run's first step, so runs move", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const same = now - HOUR;
    const events = randomEvents(7, 30, same).map((e) => ({ ...e, storedAt: same }));
    const later = randomEvents(8, 5, same).map((e) => ({ ...e, storedAt: same + MIN }));
    await insert([...events, ...later]);
    const bounds = { maxRows: 10, maxSeconds: 60 };
    const first = await rollUp(now, bounds);
    // The 30 of one millisecond, then nothing more: the bound is spent.
    expect(first).toMatchObject({ folded: 30, caughtUp: false });
    const second = await rollUp(now, bounds);
    expect(second).toMatchObject({ folded: 5, caughtUp: true });
    expect(sorted(await rollups())).toEqual(sorted(recompute([...events, ...later])));
  });

  it("drops the players of buckets no event can reach any more", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const old = now - 12 * DAY;
    await insert([
      {
        id: "old",
        type: "t",
        player: "p",
        board: null,
        score: null,
        occurredAt: old,
        receivedAt: old,
        storedAt: old,
      },
    ]);
    const run = await rollUp(now);
    // Its hour and day rows (per type and overall) stay; their players go.
    expect(run.playersPruned).toBe(4);
    expect((await rollups()).size).toBe(4);
  });

  async function fire(): Promise<void> {
    const ctx = createExecutionContext();
    try {
      await worker.scheduled(
        createScheduledController({ cron: "5 * * * *", scheduledTime: Date.now() }),
        ownEnv(),
        ctx,
      );
    } finally {
      await waitOnExecutionContext(ctx);
    }
  }
  const runsOf = () =>
    query<{ outcome: string; touched: number | null; error: string | null; detail: unknown }>(
      sql`select outcome, touched, error, detail from job_runs where job = 'rollups'
        order by started_at desc, id desc`,
    );

  it("records each run of the hourly trigger in job_runs, ok or failed", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const stamp = Date.now() - 10 * MIN;
    await insert(
      randomEvents(6, 30, stamp - HOUR).map((e) => ({ ...e, storedAt: stamp, receivedAt: stamp })),
    );
    await fire();
    const [ok] = await runsOf();
    expect(ok).toMatchObject({ outcome: "ok", touched: 30, error: null });
    expect(ok?.detail).toMatchObject({ folded: 30, caughtUp: true, playersPruned: 0 });

    await query(sql`alter table rollup_progress rename to rollup_progress_gone`);
    try {
      await expect(fire()).rejects.toThrow();
    } finally {
      await query(sql`alter table rollup_progress_gone rename to rollup_progress`);
    }
    const [failed] = await runsOf();
    expect(failed).toMatchObject({ outcome: "failed", touched: null, detail: null });
    expect(failed?.error).toMatch(/rollup_progress/);
  });
});
