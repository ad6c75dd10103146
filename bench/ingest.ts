// `npm run bench:ingest`: the write path on the local stack (HTTP → queue → consumer → Postgres),
// in the two shapes clients send, interleaved in each round:
//   - one event per request: what a game client does when a game ends. BENCH_CONNECTIONS
//     keep-alive connections (node:http), each POSTing one event and waiting for the 202 (closed
//     loop) for BENCH_SECONDS, then until every accepted event is durable in Postgres;
//   - 100 events per request: a game server forwarding its players' scores. BENCH_EVENTS events,
//     BENCH_CONCURRENCY requests in flight, until durable and visible on the Durable Objects (top
//     10 of every board-period equal to a reference fold of every event sent), then every
//     Postgres record is checked against the same fold.
// Each reports events/s accepted and durable and server CPU per event from /proc, split by
// process: workerd (ours), the Node process of the local Neon/Upstash bridges (stand-ins for what
// production runs elsewhere), Postgres, Redis; the single case next to Nakama's reference run
// (bench/lib/nakama.ts). Defaults take 2-3 minutes; with DATABASE_URL the database's ceiling for
// the same rows follows.
//   BENCH_SECONDS (one-per-request case, default 15)   BENCH_CONNECTIONS (default 50)
//   BENCH_EVENTS (100-per-request case, default 100000)   BENCH_CONCURRENCY (its requests in flight, default 8)
//   BENCH_ROUNDS (rounds of both cases, default 1; 4 for the issue's comparison)
//   BENCH_PROFILE=1: where workerd's CPU goes in the one-per-request case, by worker (ours, the local
//     queue broker, cache and rate limiter) and by function of ours (V8 sampling profiler); BENCH_PROFILE_OUT=file.cpuprofile
//     also writes our worker's profile there
//   DATABASE_URL (a real Postgres; unset: embedded PGlite, no ceiling / statement counts)
//   REDIS_URL (optional)   BENCH_SERVER_LOG (a file to keep the worker's output in)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { applyOperator, type ScoreRecord } from "../src/domain/operators.ts";
import { type PeriodKind, periodKeysFor } from "../src/domain/periods.ts";
import { compareEntries } from "../src/domain/ranking.ts";
import {
  type ContributionRow,
  type EventRow,
  persistBatch,
} from "../src/stores/postgres/persist-batch.ts";
import {
  createTestDatabase,
  dropDatabase,
  type LocalStack,
  startLocalStack,
  withDatabase,
} from "../tools/local-stack/index.ts";
import { runMigrations } from "../tools/migrate.ts";
import {
  type CpuShares,
  cpuDelta,
  cpuSharesMs,
  formatShares,
  serverCpuSeconds,
} from "./lib/cpu.ts";
import { httpPostJson } from "./lib/http.ts";
import { closedLoop, type LoadResult } from "./lib/load.ts";
import { NAKAMA, NAKAMA_REFERENCE, versusNakama } from "./lib/nakama.ts";
import { openProfilers, reportProfiles } from "./lib/profile.ts";
import { DEV_REDIS_PREFIX, deleteBoardKeys, openRedisClient } from "./lib/seed-board.ts";
import { startDevServer } from "./lib/server.ts";
import { fmt, freePort, percentile, runPool } from "./lib/stats.ts";
import { startWorkerdServer, workerdPath } from "./lib/workerd.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** BENCH_PROFILE=1: where workerd's CPU goes in the one-per-request case (V8 sampling profiler). */
const PROFILE = process.env.BENCH_PROFILE === "1";
const PER_REQUEST = 100;
const ADMIN_KEY = "bench-admin-key";
const say = (line: string) => console.log(`[bench:ingest] ${line}`);

type BoardSpec = {
  id: string;
  operator: "best" | "latest" | "increment";
  sortOrder: "desc" | "asc";
  periods: Array<"all" | "daily" | "weekly">;
};
const runId = Date.now().toString(36);
const BOARDS: BoardSpec[] = [
  {
    id: `bench-best-${runId}`,
    operator: "best",
    sortOrder: "desc",
    periods: ["all", "daily", "weekly"],
  },
  {
    id: `bench-incr-${runId}`,
    operator: "increment",
    sortOrder: "desc",
    periods: ["all", "daily"],
  },
  { id: `bench-time-${runId}`, operator: "best", sortOrder: "asc", periods: ["all"] },
  {
    id: `bench-latest-${runId}`,
    operator: "latest",
    sortOrder: "desc",
    periods: ["all", "weekly"],
  },
];

type ClientEvent = {
  id: string;
  type: string;
  playerId: string;
  occurredAt: string;
  boardId: string;
  score: number;
};

function makeEvents(count: number, salt: string): ClientEvent[] {
  const players = Math.max(1, Math.floor(count / 5));
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const board = BOARDS[i % BOARDS.length] as BoardSpec;
    return {
      id: crypto.randomUUID(),
      type: "game_ended",
      playerId: `${salt}p${(i * 7919) % players}`,
      // Distinct instants within the last hour (7,777,777 is coprime with 3,600,000), so the
      // reference fold below needs no tie rule for events of one player at the same millisecond.
      occurredAt: new Date(now - ((i * 7_777_777) % 3_600_000)).toISOString(),
      boardId: board.id,
      score:
        board.sortOrder === "asc"
          ? 30_000 + Math.floor(Math.random() * 90_000)
          : Math.floor(Math.random() * 100_000),
    };
  });
}

async function json(res: Response) {
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return JSON.parse(text);
}

type Expected = Map<
  string,
  { board: BoardSpec; period: PeriodKind; records: Map<string, ScoreRecord> }
>;

/** A sent event with the time the edge accepted it: a record's time, its tie-break and order. */
type AcceptedEvent = ClientEvent & { acceptedAt: number; request: number };

/** Records of a `latest` board whose newest events share one acceptance time: scores either may hold. */
type Ties = Map<string, Set<number>>;

/**
 * What every (board, period, player) record must be: the events folded by src/domain/operators.ts
 * in the order the edge accepted them (the period comes from occurredAt, the time from
 * acceptance). Events of one request share their acceptance time, and the batch statement then
 * takes the newest occurrence, so within one time the newest occurrence goes first (the domain
 * keeps the first of equal times). Two requests accepted in the same millisecond can make a
 * `latest` record either request's event: those records are returned in `ties`, to be resolved
 * against Postgres.
 */
function referenceFold(events: AcceptedEvent[]): { expected: Expected; ties: Ties } {
  const expected: Expected = new Map();
  const ties: Ties = new Map();
  /** The request whose event a record holds now. */
  const holder = new Map<string, number>();
  const sorted = [...events].sort(
    (a, b) =>
      a.acceptedAt - b.acceptedAt ||
      b.occurredAt.localeCompare(a.occurredAt) ||
      b.id.localeCompare(a.id),
  );
  for (const e of sorted) {
    const board = BOARDS.find((b) => b.id === e.boardId) as BoardSpec;
    const instant = new Date(e.occurredAt);
    for (const { period, key } of periodKeysFor(
      { periods: board.periods, timeZone: "UTC", weekStart: "monday" },
      instant,
    )) {
      const slot = `${board.id}|${key}`;
      let entry = expected.get(slot);
      if (!entry) {
        entry = { board, period, records: new Map() };
        expected.set(slot, entry);
      }
      const current = entry.records.get(e.playerId);
      const next = applyOperator(board.operator, board.sortOrder, current, {
        score: e.score,
        occurredAt: e.acceptedAt,
      });
      entry.records.set(e.playerId, next);
      const record = `${slot}|${e.playerId}`;
      if (board.operator !== "latest") continue;
      const tie = current?.reachedAt === e.acceptedAt && current.score !== e.score;
      if (tie && holder.get(record) !== e.request) {
        ties.set(record, (ties.get(record) ?? new Set([current.score])).add(e.score));
      } else if (next !== current) {
        ties.delete(record);
        holder.set(record, e.request);
      }
    }
  }
  return { expected, ties };
}

/** The acceptance time of every sent event, as Postgres stored it (`events.received_at`). */
async function acceptedEvents(
  pool: Pool,
  events: Array<ClientEvent & { request: number }>,
): Promise<AcceptedEvent[]> {
  const { rows } = await pool.query<{ event_id: string; received_at: Date }>(
    "select event_id, received_at from events where board_id is not null",
  );
  const acceptedAt = new Map(rows.map((r) => [r.event_id, r.received_at.getTime()]));
  return events.map((e) => {
    const at = acceptedAt.get(e.id);
    if (at === undefined) throw new Error(`event ${e.id} was accepted but is not in Postgres`);
    return { ...e, acceptedAt: at };
  });
}

/**
 * Takes Postgres' choice for the tied `latest` records, after checking it is one the events
 * allow; returns how many there were.
 */
async function resolveTies(pool: Pool, expected: Expected, ties: Ties): Promise<number> {
  for (const [record, scores] of ties) {
    const [boardId, periodKey, playerId] = record.split("|") as [string, string, string];
    const { rows } = await pool.query<{ score: string }>(
      "select score::text from scores where board_id = $1 and period_key = $2 and player_id = $3",
      [boardId, periodKey, playerId],
    );
    const held = Number(rows[0]?.score);
    if (!scores.has(held))
      throw new Error(`Postgres record ${record} = ${held}, the tied events allow ${[...scores]}`);
    const records = expected.get(`${boardId}|${periodKey}`)?.records;
    const want = records?.get(playerId);
    if (records && want) records.set(playerId, { ...want, score: held });
  }
  return ties.size;
}

/**
 * Without Postgres to ask for acceptance times, only what no order can change is checked: the
 * increment boards' sums.
 */
function orderFreeFold(events: ClientEvent[]): Expected {
  const increments = events.filter(
    (e) => BOARDS.find((b) => b.id === e.boardId)?.operator === "increment",
  );
  const byOccurrence = increments.map((e) => ({
    ...e,
    acceptedAt: Date.parse(e.occurredAt),
    request: 0,
  }));
  return referenceFold(byOccurrence).expected;
}

/**
 * Waits until the Durable Object page (cache bypassed) of every board-period shows the expected
 * top 10; returns how many board-periods were compared. Throws after `timeoutMs` with the first
 * difference.
 */
async function waitUntilVisible(
  base: string,
  expected: Expected,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let difference: string | undefined;
    for (const { board, period, records } of expected.values()) {
      const want = [...records]
        .map(([playerId, r]) => ({ playerId, score: r.score, reachedAt: r.reachedAt }))
        .sort(compareEntries(board.sortOrder))
        .slice(0, 10);
      const res = await fetch(`${base}/v1/leaderboards/${board.id}?period=${period}&limit=10`, {
        headers: { "x-edgeboard-cache": "bypass" },
      });
      const page = (await json(res)) as { entries: Array<{ playerId: string; score: number }> };
      const got = page.entries.map((e) => `${e.playerId}=${e.score}`).join(" ");
      const wanted = want.map((e) => `${e.playerId}=${e.score}`).join(" ");
      if (got !== wanted) {
        difference = `${board.id} ${period}: the Durable Object shows [${got}], the reference fold gives [${wanted}]`;
        break;
      }
    }
    if (!difference) return expected.size;
    if (Date.now() > deadline)
      throw new Error(
        `top 10 not visible within ${timeoutMs / 1000} s after the last commit: ${difference}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Compares every score row in Postgres with the reference fold; returns the number compared. */
async function checkPostgresRecords(pool: Pool, expected: Expected): Promise<number> {
  const { rows } = await pool.query<{
    board_id: string;
    period_key: string;
    player_id: string;
    score: string;
    reached_at: Date;
  }>("select board_id, period_key, player_id, score::text, reached_at from scores");
  let wantCount = 0;
  for (const entry of expected.values()) wantCount += entry.records.size;
  if (rows.length !== wantCount)
    throw new Error(`Postgres holds ${rows.length} score records, the reference fold ${wantCount}`);
  for (const row of rows) {
    const want = expected.get(`${row.board_id}|${row.period_key}`)?.records.get(row.player_id);
    if (!want || want.score !== Number(row.score) || want.reachedAt !== row.reached_at.getTime()) {
      throw new Error(
        `Postgres record ${row.board_id}/${row.period_key}/${row.player_id} = ${row.score} at ${row.reached_at.toISOString()}, ` +
          `reference ${want ? `${want.score} at ${new Date(want.reachedAt).toISOString()}` : "absent"}`,
      );
    }
  }
  return rows.length;
}

async function persistedCount(base: string): Promise<number> {
  const stats = await json(
    await fetch(`${base}/v1/admin/ingest/stats?hours=2`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    }),
  );
  return (stats.queues as Array<{ queue: string; persisted: number }>)
    .filter((q) => q.queue === "scores")
    .reduce((a, q) => a + q.persisted, 0);
}

async function xactCommits(pool: Pool, database: string): Promise<number> {
  const result = await pool.query("select xact_commit from pg_stat_database where datname = $1", [
    database,
  ]);
  return Number(result.rows[0]?.xact_commit ?? 0);
}

/**
 * The database's ceiling: the same rows through the same one-statement write, straight from Node.
 */
async function measureCeiling(
  stack: LocalStack,
  adminUrl: string,
  events: ClientEvent[],
): Promise<{ eventsPerSecond: number; cpuPerThousand: number }> {
  const name = `edgeboard_ceiling_${runId}`;
  const url = await createTestDatabase(adminUrl, stack.neonWsProxy, name);
  try {
    await runMigrations({ databaseUrl: url, neonWsProxy: stack.neonWsProxy, log: () => {} });
    return await withDatabase(url, stack.neonWsProxy, async (pool) => {
      for (const b of BOARDS) {
        await pool.query(
          "insert into boards (id, name, sort_order, operator, periods) values ($1, $1, $2, $3, $4)",
          [b.id, b.sortOrder, b.operator, b.periods],
        );
      }
      const db = drizzle({ client: pool });
      const batches: Array<{ rows: EventRow[]; contributions: ContributionRow[] }> = [];
      const receivedAt = new Date().toISOString();
      for (let i = 0; i < events.length; i += PER_REQUEST) {
        const rows: EventRow[] = [];
        const contributions: ContributionRow[] = [];
        for (const e of events.slice(i, i + PER_REQUEST)) {
          rows.push({
            event_id: e.id,
            received_at: receivedAt,
            occurred_at: e.occurredAt,
            type: e.type,
            player_id: e.playerId,
            board_id: e.boardId,
            tournament_id: null,
            score: e.score,
            display_name: null,
            metadata: null,
            payload: null,
          });
          const board = BOARDS.find((b) => b.id === e.boardId) as BoardSpec;
          for (const { key } of periodKeysFor(
            { periods: board.periods, timeZone: "UTC", weekStart: "monday" },
            new Date(e.occurredAt),
          )) {
            contributions.push({ event_id: e.id, board_id: board.id, period_key: key });
          }
        }
        batches.push({ rows, contributions });
      }
      const cpuBefore = serverCpuSeconds(process.pid);
      const started = performance.now();
      await runPool(batches.length, 4, async (i) => {
        const batch = batches[i] as (typeof batches)[number];
        await persistBatch(db, "ceiling", batch.rows, batch.contributions);
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuDelta(cpuBefore, serverCpuSeconds(process.pid));
      return {
        eventsPerSecond: events.length / seconds,
        cpuPerThousand: (cpu.byName.postgres ?? 0) / (events.length / 1000),
      };
    });
  } finally {
    await dropDatabase(adminUrl, stack.neonWsProxy, name).catch(() => {});
  }
}

/** What the rounds share: the server, the events sent so far (for the fold), the check's pool. */
interface Run {
  /** helloBase: the hello-world worker on the same workerd (bench/lib/workerd.ts), for the floor. */
  server: { base: string; pid: number; lines: string[]; helloBase?: string };
  how: string;
  /** Every event sent, with the request it went in (-1: the warm-up). */
  sent: Array<ClientEvent & { request: number }>;
  nextRequest: number;
  /** The single case's players' tokens, by player id. */
  playerTokens: Map<string, string>;
  xactPool: Pool | undefined;
  benchDbName: string | undefined;
}

/** One case's figures in one round, for the summary. */
interface CaseFigures {
  kind: "single" | "batch" | "floor";
  round: number;
  events: number;
  /** Events answered 202 per second while the load ran. */
  acceptedPerS: number;
  /** Events durable per second, from the first request until the last accepted one was durable. */
  durablePerS: number;
  cpu: CpuShares;
  requestP50: number;
  requestP99: number;
  /** Requests not answered 202 (the single case goes on; the batch case stops at the first). */
  failures: number;
  /** The floor case: workerd CPU of serving one hello-world request, the runtime's own share. */
  servingMs?: number;
  /** The floor case: workerd CPU of one call of the lifted Rate Limiting binding (a stand-in). */
  limiterCallMs?: number;
  /** The floor case: workerd CPU per event of coalescing in Durable Objects before the queue. */
  bufferedMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `count` events past `baseline` are durable in Postgres, printing progress every
 * 2 s; throws with what to check after `timeoutMs`.
 */
async function waitDurable(
  base: string,
  baseline: number,
  count: number,
  timeoutMs: number,
  started: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let lastSaid = Date.now();
  for (;;) {
    const landed = (await persistedCount(base)) - baseline;
    if (landed >= count) return landed;
    if (Date.now() > deadline)
      throw new Error(
        `only ${fmt(landed)} of ${fmt(count)} accepted events were durable within ${timeoutMs / 60_000} minutes: check the consumer's lines in the server output (BENCH_SERVER_LOG=file keeps them)`,
      );
    if (Date.now() - lastSaid >= 2_000) {
      lastSaid = Date.now();
      say(
        `  durable ${fmt(landed)} / ${fmt(count)} (${fmt((performance.now() - started) / 1000, 1)} s)`,
      );
    }
    await sleep(100);
  }
}

/**
 * Players of the single case, each with a token of its own: a game client sends its score with
 * its player's token, so each request pays what a client's does (the token's verification, the
 * player's per-PoP budget and its global one in Upstash). 2,000 players at ~2,000 requests/s send
 * ~60 a minute each, under the global 300 (wrangler.toml).
 */
const SINGLE_PLAYERS = 2_000;

/** The i-th event of the single case: boards in turn, SINGLE_PLAYERS players, distinct instants. */
function singleEvent(i: number): ClientEvent {
  const board = BOARDS[i % BOARDS.length] as BoardSpec;
  return {
    id: crypto.randomUUID(),
    type: "game_ended",
    playerId: `solo${(i * 7919) % SINGLE_PLAYERS}`,
    occurredAt: new Date(Date.now() - ((i * 7_777_777) % 3_600_000)).toISOString(),
    boardId: board.id,
    score:
      board.sortOrder === "asc"
        ? 30_000 + Math.floor(Math.random() * 90_000)
        : Math.floor(Math.random() * 100_000),
  };
}

/** A token for each of the single case's players, minted by a server key as a game server would. */
async function mintPlayerTokens(base: string): Promise<Map<string, string>> {
  const created = await fetch(`${base}/v1/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench-ingest", scopes: ["tokens:mint"] }),
  });
  if (created.status !== 201)
    throw new Error(`POST /v1/admin/keys answered ${created.status}: ${await created.text()}`);
  const { key } = (await created.json()) as { key: string };
  say(`minting a token for each of ${fmt(SINGLE_PLAYERS)} players …`);
  const tokens = new Map<string, string>();
  await runPool(SINGLE_PLAYERS, 16, async (i) => {
    const player = `solo${i}`;
    const minted = await fetch(`${base}/v1/players/${player}/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{}",
    });
    if (minted.status !== 201)
      throw new Error(
        `POST /v1/players/${player}/tokens answered ${minted.status}: ${await minted.text()}`,
      );
    tokens.set(player, ((await minted.json()) as { token: string }).token);
  });
  return tokens;
}

/**
 * What a game client does when a game ends: one score per request, with its player's token. CONNECTIONS connections, each
 * POSTing one event and waiting for the 202 before the next (closed loop), for `seconds`; then
 * until every accepted event is durable. Server CPU is read over the whole span, so events
 * accepted but not yet written are paid for in the same figure.
 */
async function sendSingles(
  run: Run,
  seconds: number,
): Promise<{ load: LoadResult; accepted: Array<ClientEvent & { request: number }> }> {
  const accepted: Array<ClientEvent & { request: number }> = [];
  const load = await closedLoop({
    concurrency: CONNECTIONS,
    seconds,
    request: async (i) => {
      const event = singleEvent(i);
      const request = run.nextRequest++;
      const reply = await httpPostJson(
        `${run.server.base}/v1/events`,
        { authorization: `Bearer ${run.playerTokens.get(event.playerId)}` },
        JSON.stringify({ events: [event] }),
      );
      if (reply.status !== 202)
        throw new Error(`POST /v1/events answered ${reply.status}: ${reply.body.slice(0, 200)}`);
      accepted.push({ ...event, request });
    },
    progress: (done, elapsed) =>
      say(`  single: ${fmt(done)} events accepted (${fmt(elapsed, 0)} s of ${seconds})`),
  });
  return { load, accepted };
}

/** The one-event-per-request case of one round, after a short warm-up that is left to drain. */
async function singleCase(run: Run, round: number): Promise<CaseFigures> {
  say(
    `one event per request: ${CONNECTIONS} connections, closed loop, warm-up 2 s, then ${SECONDS} s …`,
  );
  const warmBaseline = await persistedCount(run.server.base);
  const warm = await sendSingles(run, 2);
  run.sent.push(...warm.accepted);
  await waitDurable(
    run.server.base,
    warmBaseline,
    warm.accepted.length,
    5 * 60_000,
    performance.now(),
  );

  const baseline = await persistedCount(run.server.base);
  const profiler =
    PROFILE && process.env.BENCH_INSPECTOR_PORT
      ? await openProfilers(Number(process.env.BENCH_INSPECTOR_PORT))
      : undefined;
  await profiler?.start();
  const cpuBefore = serverCpuSeconds(run.server.pid);
  const started = performance.now();
  const { load, accepted } = await sendSingles(run, SECONDS);
  run.sent.push(...accepted);
  if (accepted.length === 0)
    throw new Error(
      `no event was accepted in ${SECONDS} s; the first failure: ${load.firstFailure}`,
    );
  if (load.failures > 0)
    say(
      `  ${fmt(load.failures)} requests were not answered 202${load.failures >= 100 ? " (the loop stops at 100: the figures cover less than the set time)" : ""}; the first: ${load.firstFailure}`,
    );
  say(
    `  ${fmt(accepted.length)} accepted in ${fmt(load.seconds, 1)} s; waiting until all are durable …`,
  );
  await waitDurable(run.server.base, baseline, accepted.length, 15 * 60_000, started);
  const durableSeconds = (performance.now() - started) / 1000;
  const cpu = cpuDelta(cpuBefore, serverCpuSeconds(run.server.pid));
  if (profiler) {
    const profiles = await profiler.stop();
    profiler.close();
    reportProfiles(profiles, say, {
      indent: "  ",
      functions: 30,
      file: process.env.BENCH_PROFILE_OUT,
    });
  }
  const figures: CaseFigures = {
    kind: "single",
    round,
    events: accepted.length,
    acceptedPerS: accepted.length / load.seconds,
    durablePerS: accepted.length / durableSeconds,
    cpu: cpuSharesMs(cpu, accepted.length),
    requestP50: percentile(load.latenciesMs, 50),
    requestP99: percentile(load.latenciesMs, 99),
    failures: load.failures,
  };
  say(
    `  one per request: ${fmt(figures.acceptedPerS)} accepted/s, ${fmt(figures.durablePerS)} durable/s (all durable after ${fmt(durableSeconds, 1)} s); ` +
      `POST p50 ${fmt(figures.requestP50, 1)} ms, p99 ${fmt(figures.requestP99, 1)} ms; CPU per event ${formatShares(figures.cpu)}`,
  );
  return figures;
}

/**
 * The floor under the one-per-request case, on the same workerd in the same round: a hello-world
 * worker (no framework, no credential, no database) answering GET, then the same worker queueing
 * each POSTed event on a queue of its own whose consumer acks it, all at CONNECTIONS closed loop.
 * The first is the runtime's cost of serving a request; the queueing minus it is the local queue
 * broker's per event (send, store, deliver in batches of 100, ack), which runs in workerd beside
 * our worker and which production runs elsewhere. Between them, the same answer after one Rate
 * Limiting call (the lifted stand-in's cost per call). Last, the coalescing alternative on the
 * same floor: each event written to one of four SQLite Durable Objects, which queue what they
 * hold once a second as messages of 100 events (docs/benchmarks.md, "One score per request").
 */
async function floorCase(run: Run, round: number, helloBase: string): Promise<CaseFigures> {
  const seconds = Math.min(SECONDS, 10);
  say(
    `floor: a hello-world worker on the same workerd, ${CONNECTIONS} connections, ${seconds} s each …`,
  );
  const hello = await floorRequests(run, `${helloBase}/health`, seconds);
  const limited = await floorRequests(run, `${helloBase}/limited`, seconds);
  const limiterCallMs = limited.cpuMs - hello.cpuMs;
  const queued = await floorDelivery(run, helloBase, "/event", seconds);
  const buffered = await floorDelivery(run, helloBase, "/buffered", seconds);
  const { events, cpu, durableSeconds } = queued;
  say(
    `  floor: serving a request ${fmt(hello.cpuMs, 3)} ms of workerd CPU (${fmt(hello.load.requests / hello.load.seconds)}/s); ` +
      `one Rate Limiting call ${fmt(limiterCallMs, 3)} ms more; ` +
      `queueing an event and delivering it ${fmt(cpu.ours, 3)} ms (${fmt(events / queued.load.seconds)} accepted/s): the local queue broker's share ${fmt(cpu.ours - hello.cpuMs, 3)} ms per event; ` +
      `coalescing instead (each event into one of 4 SQLite Durable Objects, queued by them as messages of 100) ${fmt(buffered.cpu.ours, 3)} ms (${fmt(buffered.events / buffered.load.seconds)} accepted/s)`,
  );
  return {
    kind: "floor",
    round,
    events,
    acceptedPerS: events / queued.load.seconds,
    durablePerS: events / durableSeconds,
    cpu,
    requestP50: percentile(queued.load.latenciesMs, 50),
    requestP99: percentile(queued.load.latenciesMs, 99),
    bufferedMs: buffered.cpu.ours,
    servingMs: hello.cpuMs,
    limiterCallMs,
    failures:
      queued.load.failures + hello.load.failures + limited.load.failures + buffered.load.failures,
  };
}

/** CONNECTIONS closed loop on a hello-world path for `seconds`: workerd CPU per request. */
async function floorRequests(run: Run, url: string, seconds: number) {
  const before = serverCpuSeconds(run.server.pid);
  const load = await closedLoop({
    concurrency: CONNECTIONS,
    seconds,
    request: async () => {
      const reply = await httpPostJson(url, {}, "{}");
      if (reply.status !== 200) throw new Error(`hello-world ${url} answered ${reply.status}`);
    },
  });
  const cpu = cpuSharesMs(cpuDelta(before, serverCpuSeconds(run.server.pid)), load.requests);
  return { load, cpuMs: cpu.ours };
}

/**
 * POSTs one event per request to the hello-world worker's `path` (CONNECTIONS, closed loop) for
 * `seconds`, then waits until its consumer has had every one: workerd CPU per event over it all.
 */
async function floorDelivery(run: Run, helloBase: string, path: string, seconds: number) {
  const deliveredBefore = Number(await (await fetch(`${helloBase}/delivered`)).text());
  const cpuBefore = serverCpuSeconds(run.server.pid);
  const started = performance.now();
  const load = await closedLoop({
    concurrency: CONNECTIONS,
    seconds,
    request: async (i) => {
      const reply = await httpPostJson(`${helloBase}${path}`, {}, JSON.stringify(singleEvent(i)));
      if (reply.status !== 202) throw new Error(`hello-world ${path} answered ${reply.status}`);
    },
  });
  const events = load.latenciesMs.length;
  for (;;) {
    const delivered = Number(await (await fetch(`${helloBase}/delivered`)).text());
    if (delivered - deliveredBefore >= events) break;
    if (performance.now() - started > 120_000)
      throw new Error(
        `floor ${path}: ${delivered - deliveredBefore} of ${events} events delivered after 120 s`,
      );
    await sleep(100);
  }
  const durableSeconds = (performance.now() - started) / 1000;
  const cpu = cpuSharesMs(cpuDelta(cpuBefore, serverCpuSeconds(run.server.pid)), events);
  return { load, events, cpu, durableSeconds };
}

type BatchLine = { size: number; ms: number; queue: string; statements: number; writes: number };

/** The consumer's per-batch log lines printed since `firstLine`, of the score queue. */
function scoreBatchLines(lines: string[], firstLine: number): BatchLine[] {
  return lines
    .slice(firstLine)
    .filter((l) => l.includes('"consumer: batch"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as BatchLine)
    .filter((b) => b.queue.endsWith("score-events"));
}

/**
 * The 100-events-per-request case of one round (a game server forwarding its players' scores):
 * EVENTS events, CONCURRENCY requests in flight, until every one is durable and every
 * board-period's top 10 on its Durable Object equals a reference fold of all events sent so far.
 */
async function batchCase(
  run: Run,
  round: number,
): Promise<{ figures: CaseFigures; events: ClientEvent[]; expected: Expected }> {
  const { server, xactPool, benchDbName } = run;
  say(
    `100 events per request: ${fmt(EVENTS)} events, ${CONCURRENCY} requests in flight, until durable and visible …`,
  );
  const events = makeEvents(EVENTS, "");
  const firstRequest = run.nextRequest;
  run.nextRequest += Math.ceil(EVENTS / PER_REQUEST);
  const baseline = await persistedCount(server.base);
  const firstLine = server.lines.length;
  const xactBefore = xactPool && benchDbName ? await xactCommits(xactPool, benchDbName) : 0;
  const cpuBefore = serverCpuSeconds(server.pid);
  const started = performance.now();

  const requestMs: number[] = [];
  let sent = 0;
  let rejected = 0;
  const progress = setInterval(async () => {
    const landed = (await persistedCount(server.base).catch(() => baseline)) - baseline;
    say(
      `  sent ${fmt(sent)} / ${fmt(EVENTS)}, durable ${fmt(landed)} (${fmt((performance.now() - started) / 1000, 1)} s)`,
    );
  }, 2_000);
  try {
    await runPool(Math.ceil(EVENTS / PER_REQUEST), CONCURRENCY, async (i) => {
      const chunk = events.slice(i * PER_REQUEST, (i + 1) * PER_REQUEST);
      const t0 = performance.now();
      const reply = await json(
        await fetch(`${server.base}/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ events: chunk }),
        }),
      );
      requestMs.push(performance.now() - t0);
      rejected += reply.rejected.length;
      sent += chunk.length;
    });
  } finally {
    clearInterval(progress);
  }
  const sentSeconds = (performance.now() - started) / 1000;
  const landed = await waitDurable(server.base, baseline, EVENTS - rejected, 15 * 60_000, started);
  const durableSeconds = (performance.now() - started) / 1000;
  // Durable is not enough: the run ends when every board-period's top 10, served by its
  // Durable Object, is what the events say it must be.
  say(
    `  all ${fmt(landed)} durable after ${fmt(durableSeconds, 1)} s; waiting for the Durable Object pages to show them …`,
  );
  // The check's own work (reading acceptance times, folding) is not the system's: excluded.
  const foldStarted = performance.now();
  run.sent.push(
    ...events.map((e, i) => ({ ...e, request: firstRequest + Math.floor(i / PER_REQUEST) })),
  );
  let expected: Expected;
  let tied = 0;
  if (xactPool) {
    const fold = referenceFold(await acceptedEvents(xactPool, run.sent));
    expected = fold.expected;
    tied = await resolveTies(xactPool, expected, fold.ties);
  } else expected = orderFreeFold(run.sent);
  const foldSeconds = (performance.now() - foldStarted) / 1000;
  const boardPeriods = await waitUntilVisible(server.base, expected, 30_000);
  const seconds = (performance.now() - started) / 1000 - foldSeconds;
  const cpu = cpuDelta(cpuBefore, serverCpuSeconds(server.pid));
  const xactAfter = xactPool && benchDbName ? await xactCommits(xactPool, benchDbName) : 0;

  const scoreBatches = scoreBatchLines(server.lines, firstLine);
  const batchMs = scoreBatches.map((b) => b.ms);
  const avgBatch = scoreBatches.reduce((a, b) => a + b.size, 0) / Math.max(1, scoreBatches.length);
  say(
    `  end to end (HTTP → queue → consumer → Postgres → Durable Objects, durable and visible): ${fmt(EVENTS / seconds)} events/s ` +
      `(${fmt(seconds, 1)} s; all sent after ${fmt(sentSeconds, 1)} s, durable after ${fmt(durableSeconds, 1)} s)`,
  );
  say(
    `  POST /v1/events (100 events): p50 ${fmt(percentile(requestMs, 50), 1)} ms, p99 ${fmt(percentile(requestMs, 99), 1)} ms; rejected ${rejected}`,
  );
  say(
    `  consumer batches: ${scoreBatches.length} (avg ${fmt(avgBatch, 1)} events); batch time p50 ${fmt(percentile(batchMs, 50))} ms, p99 ${fmt(percentile(batchMs, 99))} ms`,
  );
  const statements = scoreBatches.reduce((a, b) => a + b.statements, 0);
  const writes = scoreBatches.reduce((a, b) => a + b.writes, 0);
  say(
    `  database statements per consumer batch: ${fmt(statements / Math.max(1, scoreBatches.length), 2)} ` +
      `(${fmt(writes / Math.max(1, scoreBatches.length), 1)} parallel writes + board loads and the count read); ${fmt((statements / EVENTS) * 100, 3)} per 100 events`,
  );
  say(
    `  visible: the top 10 of ${boardPeriods} board-periods${xactPool ? "" : " (increment boards only: set DATABASE_URL for all)"} on their Durable Objects equal a reference fold of the events ` +
      `(src/domain/operators.ts, in acceptance order; ${tied} same-millisecond ties taken from Postgres) ` +
      `${fmt(Math.max(0, seconds - durableSeconds), 2)} s after the last commit ` +
      `(the check's own ${fmt(foldSeconds, 2)} s of folding excluded)`,
  );
  if (xactPool) {
    const perBatch = (xactAfter - xactBefore) / Math.max(1, scoreBatches.length);
    say(
      `  cross-check, pg_stat_database.xact_commit per batch: ${fmt(perBatch, 2)} (includes this bench's progress polling)`,
    );
  }
  const figures: CaseFigures = {
    kind: "batch",
    round,
    events: EVENTS,
    acceptedPerS: EVENTS / sentSeconds,
    durablePerS: EVENTS / seconds,
    cpu: cpuSharesMs(cpu, EVENTS),
    requestP50: percentile(requestMs, 50),
    requestP99: percentile(requestMs, 99),
    failures: 0,
  };
  say(`  CPU per event ${formatShares(figures.cpu)}`);
  return { figures, events, expected };
}

/** Every round's figures by case, and the single case next to Nakama's reference run. */
function printSummary(figures: CaseFigures[]): void {
  console.log("");
  say(
    `results (${ROUNDS} interleaved round${ROUNDS === 1 ? "" : "s"}; Redis ${process.env.REDIS_URL ? "on" : "off"}; server CPU from /proc, per event)`,
  );
  say(
    "  ours = workerd (the worker, its Durable Objects, and miniflare's queue broker, which runs inside workerd: /proc cannot split it); " +
      "local stand-ins = the Node process running the Neon and Upstash bridges (production runs those elsewhere)",
  );
  const cases = [
    { kind: "single", label: `one event per request (${CONNECTIONS} connections, closed loop)` },
    { kind: "batch", label: `100 events per request (${CONCURRENCY} in flight)` },
  ] as const;
  for (const { kind, label } of cases) {
    say(`  ${label}:`);
    for (const f of figures.filter((x) => x.kind === kind)) {
      say(
        `    round ${f.round}: ${fmt(f.acceptedPerS)} accepted/s, ${fmt(f.durablePerS)} durable${kind === "batch" ? " and visible" : ""}/s (${fmt(f.events)} events` +
          `${f.failures > 0 ? `, ${fmt(f.failures)} requests not 202` : ""}); CPU per event ${formatShares(f.cpu)}`,
      );
    }
  }
  const floors = figures.filter((x) => x.kind === "floor");
  if (floors.length > 0) {
    say(
      "  the floor, same workerd, same rounds (a hello-world worker: serving a request; with one Rate Limiting call; queueing each event on a local queue whose consumer acks it):",
    );
    for (const f of floors) {
      const broker = f.cpu.ours - (f.servingMs ?? 0);
      // A player's write calls two limiters (its address's, its own): the lifted stand-in's calls.
      const limiters = 2 * (f.limiterCallMs ?? 0);
      const single = figures.find((x) => x.kind === "single" && x.round === f.round);
      const ours = single ? single.cpu.ours - broker - limiters : undefined;
      say(
        `    round ${f.round}: serving ${fmt(f.servingMs ?? 0, 3)} ms, a Rate Limiting call ${fmt(f.limiterCallMs ?? 0, 3)} ms, queueing and delivering ${fmt(f.cpu.ours, 3)} ms: the local queue broker ${fmt(broker, 3)} ms per event` +
          ` (coalescing in Durable Objects first: ${fmt(f.bufferedMs ?? 0, 3)} ms)` +
          (single && ours !== undefined
            ? `; one per request without the broker, the two local limiter calls and the Node bridges: workerd ${fmt(ours, 3)} + Postgres ${fmt(single.cpu.postgres, 3)} + Redis ${fmt(single.cpu.redis, 3)} = ${fmt(ours + single.cpu.postgres + single.cpu.redis, 3)} ms per event (target ≤ 0.25)`
            : ""),
      );
    }
  }
  say(`  against ${NAKAMA_REFERENCE} (its figures, not measured here):`);
  for (const f of figures.filter((x) => x.kind === "single")) {
    say(
      `    round ${f.round}, one per request: CPU per event ${versusNakama(f.cpu.total, NAKAMA.singleWriteCpuMs, " ms", 2, "lower")}; ` +
        `without the local stand-ins ${fmt(f.cpu.total - f.cpu.standIns, 2)} ms; ` +
        `durable/s ${versusNakama(f.durablePerS, NAKAMA.singleWriteDurablePerS, "", 0, "higher")}`,
    );
  }
  for (const f of figures.filter((x) => x.kind === "batch")) {
    say(
      `    round ${f.round}, 100 per request: CPU per event ${versusNakama(f.cpu.total, NAKAMA.singleWriteCpuMs, " ms", 2, "lower")} (Nakama's figure is its one-per-request write)`,
    );
  }
}

async function main() {
  const adminUrl = process.env.DATABASE_URL || undefined;
  for (const [name, value] of Object.entries({
    EVENTS,
    CONCURRENCY,
    SECONDS,
    CONNECTIONS,
    ROUNDS,
  })) {
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`BENCH_${name}=${value} is not a positive number: fix or unset it`);
  }
  say(
    `${ROUNDS} round(s) of: one event per request from ${CONNECTIONS} connections for ${SECONDS} s; ` +
      `${fmt(EVENTS)} events ${PER_REQUEST} per request, ${CONCURRENCY} in flight; ${BOARDS.length} boards`,
  );
  say(
    adminUrl
      ? `database: ${adminUrl.replace(/:[^:@/]*@/, ":***@")} (a fresh database per run)`
      : "database: embedded PGlite (set DATABASE_URL for the ceiling and statement counts)",
  );

  let adminStack: LocalStack | undefined;
  let benchDbName: string | undefined;
  let benchDbUrl: string | undefined;
  let pgliteDir: string | undefined;
  if (adminUrl) {
    adminStack = await startLocalStack({ databaseUrl: adminUrl, log: () => {} });
    benchDbName = `edgeboard_bench_${runId}`;
    benchDbUrl = await createTestDatabase(adminUrl, adminStack.neonWsProxy, benchDbName);
  } else {
    pgliteDir = mkdtempSync(join(tmpdir(), "edgeboard-bench-"));
  }

  let server: {
    base: string;
    pid: number;
    lines: string[];
    helloBase?: string;
    stop(): Promise<void>;
  };
  let how: string;
  if (adminStack && benchDbUrl) {
    // A real Postgres: serve the worker on workerd directly (bench/lib/workerd.ts), without the
    // wrangler dev proxy, which is local tooling and would be counted as server CPU.
    await runMigrations({
      databaseUrl: benchDbUrl,
      neonWsProxy: adminStack.neonWsProxy,
      log: () => {},
    });
    say("starting the worker on workerd …");
    // The consumer's per-batch log lines (batch time, statements) are read from the worker output.
    process.env.WRANGLER_LOG = "log";
    if (PROFILE) process.env.BENCH_INSPECTOR_PORT ??= String(freePort());
    server = await startWorkerdServer(
      { BENCH_DATABASE_URL: benchDbUrl, REDIS_URL: process.env.REDIS_URL, ADMIN_KEY },
      say,
    );
    how = workerdPath();
  } else {
    const port = freePort();
    say(`starting the dev server on port ${port} …`);
    server = await startDevServer(
      {
        DATABASE_URL: benchDbUrl,
        PGLITE_DATA_DIR: pgliteDir,
        ADMIN_KEY: ADMIN_KEY,
        REDIS_URL: process.env.REDIS_URL,
      },
      port,
      say,
    );
    how = "measured through the wrangler dev proxy";
  }
  try {
    for (const b of BOARDS) {
      await json(
        await fetch(`${server.base}/v1/admin/boards`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({
            id: b.id,
            name: b.id,
            operator: b.operator,
            sortOrder: b.sortOrder,
            periods: b.periods,
          }),
        }),
      );
    }
    // Warm-up: one request through the whole path (isolates, board caches, first connections).
    const warm = makeEvents(PER_REQUEST, "warm");
    await json(
      await fetch(`${server.base}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ events: warm }),
      }),
    );
    const deadlineWarm = Date.now() + 60_000;
    while ((await persistedCount(server.base)) < PER_REQUEST) {
      if (Date.now() > deadlineWarm)
        throw new Error("warm-up events did not land within 60 s: check the server output");
      await new Promise((r) => setTimeout(r, 200));
    }

    const run: Run = {
      server,
      how,
      sent: warm.map((e) => ({ ...e, request: -1 })),
      nextRequest: 0,
      playerTokens: await mintPlayerTokens(server.base),
      xactPool:
        adminStack && benchDbName
          ? await import("@neondatabase/serverless").then(
              (m) => new m.Pool({ connectionString: benchDbUrl, max: 1 }),
            )
          : undefined,
      benchDbName,
    };
    const figures: CaseFigures[] = [];
    let lastBatch: { events: ClientEvent[]; expected: Expected } | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round} / ${ROUNDS}`);
      // Interleaved: both cases in every round, so a machine that drifts moves both alike.
      if (server.helloBase) figures.push(await floorCase(run, round, server.helloBase));
      figures.push(await singleCase(run, round));
      const batch = await batchCase(run, round);
      figures.push(batch.figures);
      lastBatch = batch;
    }
    if (run.xactPool && lastBatch) {
      say(
        `  Postgres: all ${fmt(await checkPostgresRecords(run.xactPool, lastBatch.expected))} score records equal the reference fold`,
      );
      await run.xactPool.end();
    }
    printSummary(figures);
    if (adminStack && adminUrl && lastBatch) {
      await server.stop();
      say(
        "measuring the database ceiling (the same rows, same statement, batches of 100, 4 connections) …",
      );
      const ceiling = await measureCeiling(adminStack, adminUrl, lastBatch.events);
      const endToEnd = figures.filter((f) => f.kind === "batch").map((f) => f.durablePerS);
      say(
        `  database ceiling: ${fmt(ceiling.eventsPerSecond)} events/s (Postgres CPU ${fmt(ceiling.cpuPerThousand, 3)} s per 1,000 events)`,
      );
      say(
        `  100 per request, end to end / ceiling: ${endToEnd.map((e) => `${fmt((e / ceiling.eventsPerSecond) * 100, 1)} %`).join(", ")}`,
      );
    }
  } finally {
    // BENCH_SERVER_LOG=path keeps the worker's output (consumer batch lines with phase timings).
    if (process.env.BENCH_SERVER_LOG)
      writeFileSync(process.env.BENCH_SERVER_LOG, `${server.lines.join("\n")}\n`);
    await server.stop();
    if (adminStack && adminUrl && benchDbName)
      await dropDatabase(adminUrl, adminStack.neonWsProxy, benchDbName).catch(() => {});
    if (process.env.REDIS_URL) await deleteRedisKeys(process.env.REDIS_URL);
    await adminStack?.stop();
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
  }
}

/** The worker wrote every board-period's ranks to Redis; a benchmark leaves nothing behind. */
async function deleteRedisKeys(redisUrl: string): Promise<void> {
  try {
    const redis = await openRedisClient(redisUrl);
    try {
      let deleted = 0;
      for (const b of BOARDS) deleted += await deleteBoardKeys(redis, DEV_REDIS_PREFIX, b.id);
      say(`deleted ${deleted} Redis keys`);
    } finally {
      redis.disconnect();
    }
  } catch (error) {
    say(
      `could not delete the benchmark's Redis keys (${(error as Error).message}); they match ${DEV_REDIS_PREFIX}lb:{bench-*-${runId}/*}`,
    );
  }
}

main().catch((error) => {
  console.error(`[bench:ingest] failed: ${(error as Error).message}`);
  process.exit(1);
});
