import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { SETTLE_MS } from "../../src/domain";
import type { AppBindings } from "../../src/env";
import { runRollups } from "../../src/services/operations/rollups";
import { openDatabase } from "../../src/stores/postgres/client";
import { ADMIN } from "../helpers/factories";
import { type OwnDatabase, ownDatabase } from "../helpers/own-database";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

type Figures = {
  events: number;
  players: number;
  scoreEvents: number;
  scoreSum: string;
  scoreMax: number | null;
};
type Stats = {
  granularity: string;
  from: string;
  to: string;
  generatedAt: string;
  rolledUpTo: string | null;
  partialFrom: string | null;
  openFrom: string | null;
  lastRunAt: string | null;
  caughtUp: boolean;
  truncated: boolean;
  overall: Array<{ bucket: string } & Figures>;
  series: Array<{ bucket: string; type: string; board: string | null } & Figures>;
};

// The rollups are whole-table: a database of its own, with the events and runs this file sets.
describe("GET /v1/admin/stats (a database of its own)", () => {
  let own: OwnDatabase | null = null;
  beforeAll(async () => {
    own = await ownDatabase("admin_stats");
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
  async function get(path: string, headers: Record<string, string> = ADMIN): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await createApp().request(path, { headers }, { ...env, ...ownEnv() }, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }
  async function stats(path: string): Promise<Stats> {
    const res = await get(path);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    return (await res.json()) as Stats;
  }
  /** An event that occurred at `at`, stored at `stored`. */
  function event(id: string, at: number, stored: number, e: Record<string, unknown> = {}) {
    return {
      event_id: id,
      type: "score",
      player_id: "p1",
      board_id: "b1",
      score: 10,
      occurred_at: new Date(at).toISOString(),
      received_at: new Date(at).toISOString(),
      stored_at: new Date(stored).toISOString(),
      ...e,
    };
  }
  async function insert(rows: ReturnType<typeof event>[]): Promise<void> {
    await query(sql`insert into events (event_id, type, player_id, board_id, score, occurred_at,
        received_at, stored_at)
      select event_id, type, player_id, board_id, score, occurred_at, received_at, stored_at
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as e(event_id text, type text,
        player_id text, board_id text, score bigint, occurred_at timestamptz,
        received_at timestamptz, stored_at timestamptz)`);
  }
  async function rollUp(now: number): Promise<void> {
    const handle = openDatabase(ownEnv(), { maxConnections: 1 });
    try {
      await runRollups(handle.db, {
        now: new Date(now),
        bounds: { maxRows: 1_000_000, maxSeconds: 60 },
      });
    } finally {
      await handle.close();
    }
  }
  const hour = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
  const iso = (ms: number) => new Date(ms).toISOString();

  it("answers before any run with no figures and says so", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const body = await stats(`/v1/admin/stats?from=${iso(hour)}&to=${iso(hour + 2 * HOUR)}`);
    expect(body).toMatchObject({
      granularity: "hour",
      from: iso(hour),
      to: iso(hour + 2 * HOUR),
      rolledUpTo: null,
      partialFrom: null,
      openFrom: null,
      lastRunAt: null,
      caughtUp: false,
      truncated: false,
      overall: [],
      series: [],
    });
    expect(Date.now() - Date.parse(body.generatedAt)).toBeLessThan(60_000);
  });

  it("answers per hour and per day from the rollups, with their freshness, filtered by type and board", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const stored = hour + 2 * HOUR + 10 * MIN;
    await insert([
      event("a", hour + MIN, stored, { score: 10 }),
      event("b", hour + 2 * MIN, stored, { player_id: "p2", score: 30 }),
      event("c", hour + 3 * MIN, stored, { board_id: "b2", score: 5 }),
      event("d", hour + HOUR + MIN, stored, { type: "level_up", board_id: null, score: null }),
    ]);
    const now = stored + SETTLE_MS + MIN;
    await rollUp(now);
    const body = await stats(
      `/v1/admin/stats?from=${iso(hour + 5 * MIN)}&to=${iso(hour + 2 * HOUR)}`,
    );
    // from is rounded down to its hour.
    expect(body.from).toBe(iso(hour));
    expect(body.rolledUpTo).toBe(iso(now - SETTLE_MS));
    expect(body.partialFrom).toBe(iso(Math.floor((now - SETTLE_MS) / HOUR) * HOUR));
    expect(body.openFrom).toBe(
      iso(Math.floor((now - SETTLE_MS - Number(env.EVENTS_MAX_AGE_SECONDS) * 1000) / HOUR) * HOUR),
    );
    expect(body.lastRunAt).toBe(iso(now));
    expect(body.caughtUp).toBe(true);
    expect(body.overall).toEqual([
      { bucket: iso(hour), events: 3, players: 2, scoreEvents: 3, scoreSum: "45", scoreMax: 30 },
      {
        bucket: iso(hour + HOUR),
        events: 1,
        players: 1,
        scoreEvents: 0,
        scoreSum: "0",
        scoreMax: null,
      },
    ]);
    expect(body.series).toEqual([
      {
        bucket: iso(hour),
        type: "score",
        board: "b1",
        events: 2,
        players: 2,
        scoreEvents: 2,
        scoreSum: "40",
        scoreMax: 30,
      },
      {
        bucket: iso(hour),
        type: "score",
        board: "b2",
        events: 1,
        players: 1,
        scoreEvents: 1,
        scoreSum: "5",
        scoreMax: 5,
      },
      {
        bucket: iso(hour + HOUR),
        type: "level_up",
        board: null,
        events: 1,
        players: 1,
        scoreEvents: 0,
        scoreSum: "0",
        scoreMax: null,
      },
    ]);
    const range = `from=${iso(hour)}&to=${iso(hour + 2 * HOUR)}`;
    const b2 = await stats(`/v1/admin/stats?${range}&board=b2`);
    expect(b2.series.map((s) => s.board)).toEqual(["b2"]);
    expect(b2.overall).toHaveLength(2);
    const levelUps = await stats(`/v1/admin/stats?${range}&type=level_up`);
    expect(levelUps.series.map((s) => s.type)).toEqual(["level_up"]);
    const day = Math.floor(hour / DAY) * DAY;
    const daily = await stats(
      `/v1/admin/stats?granularity=day&from=${iso(hour)}&to=${iso(day + DAY)}&type=score`,
    );
    expect(daily.from).toBe(iso(day));
    expect(daily.partialFrom).toBe(iso(Math.floor((now - SETTLE_MS) / DAY) * DAY));
    // The range ends with the first hour's day: the level_up an hour later is in it unless that
    // hour is the next day's first (a run between 02:00 and 03:00 UTC). The daily players are
    // counted per day, never summed from hours.
    const sameDay = Math.floor((hour + HOUR + MIN) / DAY) === Math.floor(hour / DAY);
    expect(daily.overall).toHaveLength(1);
    expect(daily.overall[0]).toMatchObject({
      events: sameDay ? 4 : 3,
      players: 2,
      scoreSum: "45",
    });

    // Answered from the rollups alone: with the raw events gone, the answer stands.
    await query(sql`truncate events`);
    const again = await stats(
      `/v1/admin/stats?from=${iso(hour + 5 * MIN)}&to=${iso(hour + 2 * HOUR)}`,
    );
    expect(again.overall).toEqual(body.overall);
    expect(again.series).toEqual(body.series);
  });

  it("answers bad query input with a 400 in the error shape", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const cases = [
      `from=${iso(hour + HOUR)}&to=${iso(hour)}`,
      `from=${iso(hour - 32 * DAY)}&to=${iso(hour)}`,
      `granularity=day&from=${iso(hour - 401 * DAY)}&to=${iso(hour)}`,
      `granularity=day&from=${iso(hour - 401 * DAY)}`,
      "granularity=week",
      "from=yesterday",
      "to=2026-13-01T00:00:00Z",
      "type=",
    ];
    for (const q of cases) {
      const res = await get(`/v1/admin/stats?${q}`);
      expect(res.status, q).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, q).toBe("VALIDATION_FAILED");
    }
    const res = await get(`/v1/admin/stats?from=${iso(hour + HOUR)}&to=${iso(hour)}`);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /from must not be after to/,
    );
    expect((await get("/v1/admin/stats", {})).status).toBe(401);
  });
});
