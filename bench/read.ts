// `npm run bench:read`: the read path on the local stack, on a board of BENCH_PLAYERS (default
// 100,000) seeded in Postgres and Redis.
// By default, what players' clients do, in the shape of issue 16's side-by-side with Nakama: four
// reads (top-100 cached, top-100 from the Durable Object, the rank of a player far down at ranks
// 80-95% of the board, around-me with 11 rows), each BENCH_CONNECTIONS keep-alive node:http
// connections in a closed loop for BENCH_SECONDS, the four interleaved for BENCH_ROUNDS rounds
// (bench/lib/users-reads.ts). Each run reports reads/s, p50/p99 and server CPU per read from /proc,
// ours (workerd) apart from the local stand-ins (the Node process of the Neon and Upstash
// bridges) and Postgres and Redis, next to Nakama's reference run (bench/lib/nakama.ts) with the
// ratio. Defaults take about 2-3 minutes.
// BENCH_DETAIL=1 then also runs the detailed cases (another 5-10 minutes): GET /health, the cached
// page with a key, the admin key or a token, rank lookups through the Postgres fallback, a cold
// stampede on one page, and how soon a new rank-1 score is visible. Each reports requests/s and
// p50/p99 with BENCH_CONCURRENCY requests in flight (closed loop), p50/p99 with one in flight,
// p50/p99 at fixed offered rates (open loop, lightest first: 1,600 page reads/s and 1,000 rank
// lookups/s, or BENCH_RATE, and for GET /health and the cached and Redis cases also 100-800
// req/s), and server CPU per read. The same open loops also run against a node:http hello-world
// (bench/lib/floor-server.ts): the tail latency this machine gives any server.
//   DATABASE_URL (required: a real Postgres)   REDIS_URL (required)
//   BENCH_PLAYERS (default 100000)   BENCH_SECONDS (per case and round, default 10)
//   BENCH_ROUNDS (default 2; 4 for the issue's comparison, with BENCH_SECONDS=15)   BENCH_CONNECTIONS (default 50)
//   BENCH_DETAIL=1 (the detailed cases too)   BENCH_CONCURRENCY (theirs, default 16)
//   BENCH_STAMPEDE (concurrent cold requests, default 1000)   BENCH_FRESHNESS_ROUNDS (default 30,
//   through the object and through the cached page each)   BENCH_QUIET_ROUNDS (default 3),
//   BENCH_QUIET_SECONDS (default 6: reads after that long with no reader)
//   BENCH_SERVER (workerd | wrangler; default workerd, falling back to wrangler dev if it cannot start)
//   BENCH_OUTBOUND=miniflare: subrequests through miniflare's outbound interceptor, as under wrangler dev (default: straight out)
//   BENCH_RATE (req/s of the open-loop runs)   BENCH_PROFILE=1: also print where workerd's CPU goes in each case, by worker and by function of ours (V8 sampling profiler); BENCH_PROFILE_OUT=file.cpuprofile also writes each case's profile of our worker beside it
import { availableParallelism } from "node:os";
import type { Pool } from "@neondatabase/serverless";
import type { Redis as RedisClient } from "ioredis";
import {
  createTestDatabase,
  dropDatabase,
  type LocalStack,
  startLocalStack,
  withDatabase,
} from "../tools/local-stack/index.ts";
import { runMigrations } from "../tools/migrate.ts";
import { cpuDelta, serverCpuSeconds } from "./lib/cpu.ts";
import { startFloorServer } from "./lib/floor-server.ts";
import { collectGarbage } from "./lib/gc.ts";
import { type HttpHead, httpGet, httpGetDiscard } from "./lib/http.ts";
import { closedLoop, type LoadResult, openLoop } from "./lib/load.ts";
import { NAKAMA, NAKAMA_REFERENCE } from "./lib/nakama.ts";
import { openProfilers, reportProfiles } from "./lib/profile.ts";
import {
  DEV_REDIS_PREFIX,
  deleteBoardKeys,
  insertBoard,
  openRedisClient,
  SEED_DISTINCT_SCORES,
  type SeededPlayer,
  seedRedis,
  seedScores,
} from "./lib/seed-board.ts";
import { startDevServer } from "./lib/server.ts";
import { fmt, freePort, percentile } from "./lib/stats.ts";
import { printUserReads, runUserReads, userReadCases } from "./lib/users-reads.ts";
import { startWorkerdServer, workerdPath } from "./lib/workerd.ts";

const PLAYERS = Number(process.env.BENCH_PLAYERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DETAIL = process.env.BENCH_DETAIL === "1";
/** The far-down players of the rank and around-me cases: ranks 80-95% of the board. */
const FAR_DOWN = [0.8, 0.95] as const;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const STAMPEDE = Number(process.env.BENCH_STAMPEDE ?? 1_000);
const FRESHNESS_ROUNDS = Number(process.env.BENCH_FRESHNESS_ROUNDS ?? 30);
/** Quiet spells before a read of the cached page: longer than the page's TTL plus its SWR window. */
const QUIET_ROUNDS = Number(process.env.BENCH_QUIET_ROUNDS ?? 3);
const QUIET_SECONDS = Number(process.env.BENCH_QUIET_SECONDS ?? 6);
/** The bench board's page lifetime (its cacheTtlSeconds, the default) and the refresh allowance. */
const PAGE_TTL_S = 2;
const PAGE_REFRESH_S = 2;
const SERVER_KIND = (process.env.BENCH_SERVER ?? "workerd").toLowerCase();
const PROFILE = process.env.BENCH_PROFILE === "1";
/** Offered load of the open-loop runs; default: OFFERED below for the same kind of read. */
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const WARMUP_SECONDS = 1.5;
/** Each case also runs this long with one request in flight: latency without queueing. */
const UNLOADED_SECONDS = 1.5;
/**
 * Offered loads below OFFERED's at which GET /health and the cached and Redis cases also run (open
 * loop): where the p99 target holds on this machine, and from which load on its shared cores it
 * does not.
 */
const LADDER_RATES = [100, 200, 400, 800];
/**
 * Sent with every request, whichever client sends it (node:http asks for no encoding; fetch asks
 * for gzip, which workerd would compress locally at ~15% more CPU per top-100 read); deployed,
 * Cloudflare's edge compresses outside the Worker's CPU time.
 */
const CLIENT_HEADERS = { "accept-encoding": "identity" };
const TOP_SIZE = 1_000;
/**
 * The isolate's limit on Postgres rank fallbacks running at once (postgresRanks in
 * src/stores/postgres/rank-gate.ts).
 */
const POSTGRES_RANK_CONCURRENCY = 4;
const ADMIN_KEY = "bench-admin-key";
const FRESHNESS_TIMEOUT_MS = 15_000;

/**
 * The open loops' offered loads: page reads and rank lookups per second. Earlier sessions took
 * these as Nakama's throughput without measuring it; they are kept as fixed loads, and Nakama's
 * measured figures (bench/lib/nakama.ts) are compared in the side-by-side cases instead.
 */
const OFFERED = { topReqS: 1_600, rankReqS: 1_000 };
const TARGET_CACHED_P99_MS = 5;
const TARGET_REDIS_P99_MS = 10;
const TARGET_FRESH_P99_S = 2;

const say = (line: string) => console.log(`[bench:read] ${line}`);
const runId = Date.now().toString(36);
const BOARD = `bench-read-${runId}`;

type Metrics = Record<string, number>;
interface Server {
  base: string;
  /** The hello-world worker beside it (workerd only): the runtime floor. */
  helloBase?: string;
  pid: number;
  /** Everything the server printed: its tail is shown when the bench fails. */
  lines: string[];
  stop(): Promise<void>;
}
interface CaseResult {
  label: string;
  load: LoadResult;
  /** Latencies with one request in flight. */
  unloaded: number[];
  /**
   * Latencies at fixed offered rates (open loop), lowest rate first; the last is OFFERED's rate for
   * the case (or BENCH_RATE).
   */
  atRates: Array<{ rate: number; latenciesMs: number[] }>;
  cpu: ReturnType<typeof cpuDelta>;
  metrics: Metrics;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ok = (pass: boolean) => (pass ? "ok" : "MISSED");

async function metrics(base: string): Promise<Metrics> {
  const res = await fetch(`${base}/v1/admin/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(
      `GET /v1/admin/metrics answered ${res.status} (${text.slice(0, 200)}): the worker must register src/routes/admin/get-metrics.ts`,
    );
  }
  return JSON.parse(text) as Metrics;
}

/**
 * Queries over Neon's HTTP endpoint plus WebSocket sessions opened: every way the worker reaches
 * Postgres.
 */
function databaseTouches(m: Metrics): number {
  return (m.postgresQueries ?? 0) + (m.postgresConnections ?? 0);
}

function metricsDelta(before: Metrics, after: Metrics): Metrics {
  return Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
}

/**
 * GET and check: status 200, a body, and the given headers; the body is read whole (as a client
 * would), then dropped.
 */
async function getChecked(
  url: string,
  headers: Record<string, string>,
  expect: Record<string, string | RegExp>,
): Promise<HttpHead> {
  const res = await httpGetDiscard(url, { ...CLIENT_HEADERS, ...headers });
  if (res.status !== 200 || res.bytes === 0)
    throw new Error(`${url} answered ${res.status} with ${res.bytes} bytes`);
  for (const [name, want] of Object.entries(expect)) {
    const got = String(res.headers[name] ?? "(absent)");
    if (typeof want === "string" ? got !== want : !want.test(got))
      throw new Error(`${url}: ${name} is ${got}, expected ${want}`);
  }
  return res;
}

async function getJson<T>(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ res: Response; body: T }> {
  const res = await fetch(url, { headers: { ...CLIENT_HEADERS, ...headers } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return { res, body: JSON.parse(text) as T };
}

/** Server CPU a credential may add to a cached read: a cached server key, a player token (JWT). */
const TARGET_KEY_CPU_MS = 0.05;
const TARGET_TOKEN_CPU_MS = 0.15;

/** A server key that may mint tokens, and a player token minted with it. */
async function credentials(base: string): Promise<{ key: string; token: string }> {
  const created = await fetch(`${base}/v1/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", scopes: ["read", "tokens:mint"] }),
  });
  if (created.status !== 201)
    throw new Error(`POST /v1/admin/keys answered ${created.status}: ${await created.text()}`);
  const { key } = (await created.json()) as { key: string };
  const minted = await fetch(`${base}/v1/players/bench-player/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: "{}",
  });
  if (minted.status !== 201)
    throw new Error(
      `POST /v1/players/bench-player/tokens answered ${minted.status}: ${await minted.text()}`,
    );
  return { key, token: ((await minted.json()) as { token: string }).token };
}

interface CaseSpec {
  label: string;
  request: (i: number) => Promise<void>;
  /** OFFERED's rate for this kind of read: the open-loop rate (none: closed loop only). */
  openLoopRate?: number;
  /** Also run the open loop at the LADDER_RATES below openLoopRate, lowest first. */
  ladder?: boolean;
  /** Run before the open loops and again before the closed loop (e.g. fill the cache). */
  prepare?: () => Promise<void>;
  /** Exactly these open-loop rates instead of openLoopRate/ladder. */
  rates?: number[];
  /** Not the worker (a floor): open loops only, no closed loop, no CPU. */
  openLoopOnly?: boolean;
  /** For a floor: what it answers, for the report. */
  answers?: string;
  /** Requests in flight in the closed loop, when not BENCH_CONCURRENCY. */
  concurrency?: number;
}

/** The offered rates of a case's open loops, lowest first (none for a closed-loop-only case). */
function openLoopRates(spec: CaseSpec): number[] {
  if (spec.rates) return spec.rates;
  if (!spec.openLoopRate) return [];
  const top = RATE ?? spec.openLoopRate;
  return [...(spec.ladder ? LADDER_RATES.filter((r) => r < top) : []), top];
}

/**
 * Every case's open loops, before any closed loop and in order of offered rate (case order at
 * equal rates): a heavy run leaves workerd's V8 heap full of promoted garbage, and the full
 * collection that follows (100-160 ms here, seen with MINIFLARE_WORKERD_V8_FLAGS=--trace-gc)
 * lands in whatever runs next, 100 req/s included. That pause is the earlier run's debt, not the
 * latency at the lighter rate. Returns each case's runs, lowest rate first.
 */
async function openLoopsByRate(cases: readonly CaseSpec[]): Promise<Array<CaseResult["atRates"]>> {
  const runs: Array<CaseResult["atRates"]> = cases.map(() => []);
  const schedule = cases.flatMap((spec, index) =>
    openLoopRates(spec).map((rate) => ({ spec, index, rate })),
  );
  schedule.sort((a, b) => a.rate - b.rate); // stable: case order at equal rates
  const failed = new Set<number>();
  const warmed = new Set<number>();
  say(
    `open loops, lowest offered rate first; each after 2 s idle and 1 s to warm up (3 s for a case's first), then ${SECONDS / 2} s (${schedule.length} runs) …`,
  );
  for (const { spec, index, rate } of schedule) {
    if (failed.has(index)) continue;
    await spec.prepare?.();
    collectGarbage();
    await sleep(2_000); // the previous run may have left work behind
    // A case's first run warms its code path longer (JIT, connections): 1 s at 100 req/s is only
    // 100 requests.
    await openLoop({ rate, seconds: warmed.has(index) ? 1 : 3, request: spec.request });
    warmed.add(index);
    const run = await openLoop({ rate, seconds: SECONDS / 2, request: spec.request });
    if (run.failures > 0) {
      // Not fatal: a machine slower than this one may not sustain the offered rate.
      say(
        `  ${spec.label} at ${fmt(rate)} req/s: ${fmt(run.failures)} requests failed or could not start (${run.firstFailure})`,
      );
      failed.add(index);
      continue;
    }
    runs[index]?.push({ rate, latenciesMs: run.latenciesMs });
    say(
      `  ${spec.label} at a fixed ${fmt(rate)} req/s: p50 ${fmt(percentile(run.latenciesMs, 50), 2)} ms, p99 ${fmt(percentile(run.latenciesMs, 99), 2)} ms`,
    );
  }
  return runs;
}

/** Warm-up, then a measured closed-loop run bracketed by server CPU and worker counters. */
/** BENCH_PROFILE=1: profiles every worker in workerd during a case, then prints the shares. */
async function profileCase(label: string): Promise<() => Promise<void>> {
  const port = process.env.BENCH_INSPECTOR_PORT;
  if (!port) return async () => {};
  const profiler = await openProfilers(Number(port));
  await profiler.start();
  return async () => {
    const profiles = await profiler.stop();
    profiler.close();
    say(`    ${label}:`);
    const out = process.env.BENCH_PROFILE_OUT;
    reportProfiles(profiles, say, {
      indent: "      ",
      functions: 20,
      file:
        out &&
        `${out.replace(/\.cpuprofile$/, "")}.${label.replace(/[^a-z0-9]+/gi, "-")}.cpuprofile`,
    });
  };
}

async function runCase(
  server: Server,
  spec: CaseSpec,
  atRates: CaseResult["atRates"],
): Promise<CaseResult> {
  const { label, request } = spec;
  await spec.prepare?.();
  collectGarbage();
  const concurrency = spec.concurrency ?? CONCURRENCY;
  say(`${label}: warm-up ${WARMUP_SECONDS} s, then ${concurrency} concurrent for ${SECONDS} s …`);
  const warm = await closedLoop({ concurrency, seconds: WARMUP_SECONDS, request });
  if (warm.failures > 0)
    throw new Error(
      `${label}: warm-up requests failed (${warm.firstFailure}); see the worker's output below`,
    );
  const metricsBefore = await metrics(server.base);
  const profiler =
    PROFILE && process.env.BENCH_INSPECTOR_PORT
      ? await openProfilers(Number(process.env.BENCH_INSPECTOR_PORT))
      : undefined;
  await profiler?.start();
  const cpuBefore = serverCpuSeconds(server.pid);
  const load = await closedLoop({
    concurrency,
    seconds: SECONDS,
    request,
    progress: (done, elapsed) => say(`  ${fmt(done)} requests (${fmt(elapsed, 0)} s)`),
  });
  const cpu = cpuDelta(cpuBefore, serverCpuSeconds(server.pid));
  if (profiler) {
    const profiles = await profiler.stop();
    profiler.close();
    reportProfiles(profiles, say, { indent: "  ", functions: 25 });
  }
  const delta = metricsDelta(metricsBefore, await metrics(server.base));
  if (load.failures > 0) {
    throw new Error(
      `${label}: ${load.failures} requests failed or answered unexpectedly; the first: ${load.firstFailure}; see the worker's output below`,
    );
  }
  const unloaded = await closedLoop({ concurrency: 1, seconds: UNLOADED_SECONDS, request });
  if (unloaded.failures > 0)
    throw new Error(
      `${label}: requests failed (${unloaded.firstFailure}); see the worker's output below`,
    );
  say(
    `  ${fmt(load.requests / load.seconds)} req/s, p50 ${fmt(percentile(load.latenciesMs, 50), 2)} ms, p99 ${fmt(percentile(load.latenciesMs, 99), 2)} ms; ` +
      `one at a time: p50 ${fmt(percentile(unloaded.latenciesMs, 50), 2)} ms, p99 ${fmt(percentile(unloaded.latenciesMs, 99), 2)} ms`,
  );
  return { label, load, unloaded: unloaded.latenciesMs, cpu, metrics: delta, atRates };
}

function caseLine(r: CaseResult): string[] {
  const rate = r.load.requests / r.load.seconds;
  const perThousand = r.cpu.total / (r.load.requests / 1000);
  const parts = Object.entries(r.cpu.byName)
    .filter(([, v]) => v > 0.005)
    .map(([k, v]) => `${k} ${fmt(v / (r.load.requests / 1000), 3)}`)
    .join(", ");
  return [
    `${r.label}: ${fmt(rate)} req/s, p50 ${fmt(percentile(r.load.latenciesMs, 50), 2)} ms, p99 ${fmt(percentile(r.load.latenciesMs, 99), 2)} ms ` +
      `(${fmt(r.load.requests)} requests in ${fmt(r.load.seconds, 1)} s)`,
    `    one request at a time: p50 ${fmt(percentile(r.unloaded, 50), 2)} ms, p99 ${fmt(percentile(r.unloaded, 99), 2)} ms` +
      r.atRates
        .map(
          ({ rate, latenciesMs }) =>
            `; at ${fmt(rate)} req/s: p50 ${fmt(percentile(latenciesMs, 50), 2)}, p99 ${fmt(percentile(latenciesMs, 99), 2)} ms`,
        )
        .join(""),
    `    server CPU ${fmt(perThousand, 3)} s per 1,000 reads = ${fmt(perThousand, 3)} ms/read (${parts})`,
  ];
}

function counters(m: Metrics, names: string[]): string {
  return names.map((n) => `${n} ${fmt(m[n] ?? 0)}`).join(", ");
}

/**
 * 1,000 concurrent requests for a page nobody asked for yet; the worker's counters before/after.
 */
async function stampede(server: Server): Promise<{
  latenciesMs: number[];
  statuses: Map<number, number>;
  delta: Metrics;
  limit: number;
}> {
  const limit = 37; // a page size no other case uses: a cold cache key
  // A burst outlasts the board's 2 s TTL on a loaded machine, and the (correct) refresh of the
  // page it expired would count as a second read: the burst runs with a 30 s TTL, restored after.
  await setPageTtl(server, 30);
  // The board definition is cached in the isolate for 30 s: refresh it first, so the burst measures
  // the page path, not a board reload.
  await getChecked(`${server.base}/v1/leaderboards/${BOARD}?limit=100`, {}, {});
  const before = await metrics(server.base);
  const url = `${server.base}/v1/leaderboards/${BOARD}?limit=${limit}`;
  const latenciesMs: number[] = [];
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: STAMPEDE }, async () => {
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await fetch(url, { headers: CLIENT_HEADERS });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = -1;
      }
      latenciesMs.push(performance.now() - t0);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }),
  );
  const delta = metricsDelta(before, await metrics(server.base));
  await setPageTtl(server, PAGE_TTL_S);
  return { latenciesMs, statuses, delta, limit };
}

/**
 * A running one-off tournament whose instance holds a copy of the bench board's records (one
 * INSERT … SELECT; the score bands follow by trigger). Returns its top-100 standings URL, checked.
 */
async function seedTournament(
  server: Server,
  dbUrl: string,
  neonWsProxy: string,
  topScore: number,
): Promise<string> {
  const id = `bench-cup-${runId}`;
  const res = await fetch(`${server.base}/v1/admin/tournaments`, {
    method: "POST",
    headers: {
      ...CLIENT_HEADERS,
      authorization: `Bearer ${ADMIN_KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      id,
      name: "Bench cup",
      topSize: TOP_SIZE,
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: new Date(Date.now() + 86_400_000).toISOString(),
    }),
  });
  if (res.status !== 201)
    throw new Error(`POST /v1/admin/tournaments: ${res.status} ${await res.text()}`);
  say(`copying ${fmt(PLAYERS)} records into tournament ${id}'s instance …`);
  await withDatabase(dbUrl, neonWsProxy, async (pool: Pool) => {
    await pool.query(
      `insert into scores (board_id, period_key, player_id, score, sort_score, reached_at, version)
       select $1, 'main', player_id, score, sort_score, reached_at, version
       from scores where board_id = $2 and period_key = 'all'`,
      [`~t.${id}`, BOARD],
    );
    await pool.query("vacuum (analyze) scores");
  });
  const url = `${server.base}/v1/tournaments/${id}/leaderboard?limit=100`;
  const { body } = await getJson<PageBody>(url);
  if (body.entries.length !== 100 || body.entries[0]?.score !== topScore) {
    throw new Error(
      `tournament ${id}'s standings are wrong: ${body.entries.length} entries, top score ${body.entries[0]?.score} (expected ${topScore})`,
    );
  }
  return url;
}

/** Sets the bench board's page TTL (PATCH /v1/admin/boards/:board). */
async function setPageTtl(server: Server, seconds: number): Promise<void> {
  const res = await fetch(`${server.base}/v1/admin/boards/${BOARD}`, {
    method: "PATCH",
    headers: {
      ...CLIENT_HEADERS,
      authorization: `Bearer ${ADMIN_KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ cacheTtlSeconds: seconds }),
  });
  if (!res.ok)
    throw new Error(`PATCH ${BOARD} cacheTtlSeconds=${seconds}: ${res.status} ${await res.text()}`);
}

type PageBody = {
  entries: Array<{ playerId: string; score: number; rank: number }>;
  total: number;
};

/**
 * Rounds of: a new player posts the best score; time from the 202 until the DO page shows them
 * first.
 */
/** Where a freshness round looks for the new score: the Durable Object, or the ordinary cached page. */
type FreshnessPath = "object" | "cached";

/**
 * Rounds of a new rank-1 score, one event at a time (the light traffic where batches never fill):
 * seconds from the 202 until it is first on the page read through `path`. Rounds are numbered from
 * `first`, so every round's player and score are new across calls.
 */
async function freshness(
  server: Server,
  topScore: number,
  path: FreshnessPath,
  first: number,
): Promise<number[]> {
  const seconds: number[] = [];
  const where = path === "object" ? "the Durable Object page" : "the cached page";
  for (let round = 1; round <= FRESHNESS_ROUNDS; round++) {
    const n = first + round;
    const playerId = `fresh-${runId}-${n}`;
    const accepted = await postTopScore(server, playerId, topScore + 1_000 * n);
    for (;;) {
      const { body } = await getJson<PageBody>(
        `${server.base}/v1/leaderboards/${BOARD}?limit=10`,
        path === "object" ? { "x-edgeboard-cache": "bypass" } : {},
      );
      if (body.entries[0]?.playerId === playerId) break;
      if (performance.now() - accepted > FRESHNESS_TIMEOUT_MS) {
        throw new Error(
          `round ${round}: ${playerId} was not first on ${where} ${FRESHNESS_TIMEOUT_MS / 1000} s after the 202: ` +
            "check the queue consumer (server output), the score projection and the page purge",
        );
      }
      await sleep(10);
    }
    seconds.push((performance.now() - accepted) / 1000);
    if (round % 10 === 0) {
      say(
        `  freshness via ${where}: ${round} / ${FRESHNESS_ROUNDS} rounds, p50 so far ${fmt(percentile(seconds, 50), 2)} s`,
      );
    }
  }
  return seconds;
}

/** Posts one score event for `playerId`; returns when the 202 arrived (performance.now()). */
async function postTopScore(server: Server, playerId: string, score: number): Promise<number> {
  const res = await fetch(`${server.base}/v1/events`, {
    method: "POST",
    headers: {
      ...CLIENT_HEADERS,
      authorization: `Bearer ${ADMIN_KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      events: [
        {
          id: crypto.randomUUID(),
          type: "game_ended",
          playerId,
          occurredAt: new Date().toISOString(),
          boardId: BOARD,
          score,
        },
      ],
    }),
  });
  const text = await res.text();
  if (res.status !== 202)
    throw new Error(`POST /v1/events answered ${res.status}: ${text.slice(0, 300)}`);
  const reply = JSON.parse(text) as { accepted: number };
  if (reply.accepted !== 1)
    throw new Error(`POST /v1/events rejected the freshness event: ${text.slice(0, 300)}`);
  return performance.now();
}

/**
 * Reads after a quiet spell (nobody reads the board for QUIET_SECONDS): the first read of the
 * ordinary cached page, its Age, and whether it shows what the Durable Object holds at that moment.
 */
async function afterQuiet(
  server: Server,
): Promise<Array<{ ageSeconds: number; current: boolean; outcome: string }>> {
  const reads: Array<{ ageSeconds: number; current: boolean; outcome: string }> = [];
  for (let round = 1; round <= QUIET_ROUNDS; round++) {
    await sleep(QUIET_SECONDS * 1000);
    const url = `${server.base}/v1/leaderboards/${BOARD}?limit=10`;
    const { res, body } = await getJson<PageBody>(url);
    const { body: held } = await getJson<PageBody>(url, { "x-edgeboard-cache": "bypass" });
    const ids = (page: PageBody) => page.entries.map((e) => e.playerId).join(",");
    reads.push({
      ageSeconds: Number(res.headers.get("age") ?? 0),
      current: ids(body) === ids(held),
      outcome: res.headers.get("x-edge-cache") ?? "?",
    });
    say(
      `  after ${QUIET_SECONDS} s quiet (${round} / ${QUIET_ROUNDS}): ${reads.at(-1)?.outcome}, age ${reads.at(-1)?.ageSeconds} s`,
    );
  }
  return reads;
}

/**
 * The seeded players at ranks 80-95% of the board, checked once: rank from Redis as seeded, and
 * an around-me of 11 rows from Redis with the player in the middle.
 */
async function farDownPlayers(base: string, samples: SeededPlayer[]): Promise<SeededPlayer[]> {
  const [from, to] = FAR_DOWN.map((f) => Math.floor(f * PLAYERS)) as [number, number];
  const players = samples.filter((s) => s.rank >= from && s.rank <= to);
  const first = players[0];
  if (!first)
    throw new Error(
      `no seeded lookup target between ranks ${from} and ${to}: raise BENCH_PLAYERS (at least ${TOP_SIZE * 2})`,
    );
  const { res, body } = await getJson<PageBody>(
    `${base}/v1/leaderboards/${BOARD}/players/${first.playerId}/around?n=5`,
  );
  const middle = body.entries[5];
  if (
    res.headers.get("x-rank-source") !== "redis" ||
    body.entries.length !== 11 ||
    middle?.playerId !== first.playerId ||
    middle.rank !== first.rank
  ) {
    throw new Error(
      `around-me of ${first.playerId} (rank ${first.rank}): ${body.entries.length} rows from ${res.headers.get("x-rank-source")}, ` +
        `middle ${middle?.playerId} at ${middle?.rank}; expected 11 rows from redis with the player 6th: check the Redis seeding (display HASH) and the around-me read`,
    );
  }
  return players;
}

/** The worker, served by workerd directly when possible (see bench/lib/workerd.ts). */
async function startServer(
  databaseUrl: string,
  redisUrl: string | undefined,
  what: string,
): Promise<Server & { how: string }> {
  if (PROFILE) process.env.BENCH_INSPECTOR_PORT ??= String(freePort());
  if (SERVER_KIND !== "wrangler") {
    try {
      say(`starting the worker on workerd (${what}) …`);
      const s = await startWorkerdServer(
        { BENCH_DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, ADMIN_KEY },
        say,
      );
      return { ...s, how: workerdPath() };
    } catch (error) {
      if (SERVER_KIND === "workerd" && process.env.BENCH_SERVER) throw error;
      say(
        `workerd directly did not start (${(error as Error).message.split("\n")[0]}); falling back to wrangler dev`,
      );
    }
  }
  const port = freePort();
  say(`starting wrangler dev on port ${port} (${what}) …`);
  const s = await startDevServer(
    { DATABASE_URL: databaseUrl, ADMIN_KEY, REDIS_URL: redisUrl },
    port,
    say,
  );
  return { ...s, how: "measured through the wrangler dev proxy" };
}

async function main() {
  const adminUrl = process.env.DATABASE_URL || undefined;
  const redisUrl = process.env.REDIS_URL || undefined;
  if (!adminUrl || !redisUrl) {
    say(
      `needs a real Postgres and Redis: set ${[!adminUrl && "DATABASE_URL", !redisUrl && "REDIS_URL"].filter(Boolean).join(" and ")}, e.g.\n` +
        "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench:read",
    );
    process.exit(1);
  }
  for (const [name, value] of Object.entries({
    PLAYERS,
    SECONDS,
    ROUNDS,
    CONNECTIONS,
    CONCURRENCY,
    STAMPEDE,
    FRESHNESS_ROUNDS,
  })) {
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`BENCH_${name}=${value} is not a positive number: fix or unset it`);
  }
  if (PLAYERS < TOP_SIZE * 2)
    throw new Error(
      `BENCH_PLAYERS must be at least ${TOP_SIZE * 2} (players ranked beyond the top ${TOP_SIZE})`,
    );

  say(
    `${fmt(PLAYERS)} players on one board; ${ROUNDS} rounds of 4 reads, ${CONNECTIONS} connections for ${SECONDS} s each` +
      (DETAIL
        ? `; then the detailed cases: ${CONCURRENCY} concurrent for ${SECONDS} s per case, stampede of ${fmt(STAMPEDE)}, ${FRESHNESS_ROUNDS} freshness rounds`
        : " (BENCH_DETAIL=1 adds the detailed cases)"),
  );
  say(
    `database: ${adminUrl.replace(/:[^:@/]*@/, ":***@")} (a fresh database per run); Redis: ${redisUrl} (prefix ${DEV_REDIS_PREFIX})`,
  );

  // Everything started is stopped in reverse order, on success, failure or Ctrl-C.
  const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const step of cleanups.reverse()) {
        await step
          .run()
          .catch((error: unknown) =>
            say(`cleanup: ${step.what} failed (${(error as Error).message}); do it by hand`),
          );
      }
    })();
    return cleaning;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      say(`${signal}: cleaning up …`);
      void cleanup().then(() => process.exit(130));
    });
  }

  const results: CaseResult[] = [];
  let current: Server | undefined;
  try {
    const adminStack: LocalStack = await startLocalStack({ databaseUrl: adminUrl, log: () => {} });
    cleanups.push({ what: "stopping the local stack", run: () => adminStack.stop() });
    const dbName = `edgeboard_bench_read_${runId}`;
    const dbUrl = await createTestDatabase(adminUrl, adminStack.neonWsProxy, dbName);
    cleanups.push({
      what: `dropping database ${dbName}`,
      run: () => dropDatabase(adminUrl, adminStack.neonWsProxy, dbName),
    });
    await runMigrations({ databaseUrl: dbUrl, neonWsProxy: adminStack.neonWsProxy, log: () => {} });
    say(`database ${dbName} created and migrated`);

    const redis: RedisClient = await openRedisClient(redisUrl);
    cleanups.push({ what: "closing the Redis client", run: async () => redis.quit() });
    cleanups.push({
      what: `deleting the Redis keys of ${BOARD}`,
      run: async () =>
        say(`deleted ${await deleteBoardKeys(redis, DEV_REDIS_PREFIX, BOARD)} Redis keys`),
    });

    const seedStarted = performance.now();
    const seeded = await withDatabase(dbUrl, adminStack.neonWsProxy, async (pool: Pool) => {
      await insertBoard(pool, BOARD, TOP_SIZE);
      say(
        `seeding ${fmt(PLAYERS)} scores on ${BOARD} (one INSERT … SELECT generate_series; a minute or so) …`,
      );
      await seedScores(pool, BOARD, PLAYERS, say);
      say("filling Redis from Postgres (keyset chunks in rank order) …");
      const r = await seedRedis({
        pool,
        redis,
        prefix: DEV_REDIS_PREFIX,
        boardId: BOARD,
        beyondRank: TOP_SIZE,
        sampleEvery: 97,
        say,
      });
      const top = await pool.query<{ score: string }>(
        "select max(score)::text as score from scores where board_id = $1",
        [BOARD],
      );
      return { ...r, topScore: Number(top.rows[0]?.score ?? SEED_DISTINCT_SCORES) };
    });
    say(
      `seeded ${fmt(seeded.rows)} players in Postgres and Redis in ${fmt((performance.now() - seedStarted) / 1000, 1)} s ` +
        `(${fmt(seeded.samples.length)} lookup targets ranked beyond ${fmt(TOP_SIZE)})`,
    );
    const samples: SeededPlayer[] = seeded.samples;
    const pick = (i: number) => samples[(i * 7_919 + 13) % samples.length] as SeededPlayer;

    // ---------------------------------------------------------------- with Redis
    const server = await startServer(dbUrl, redisUrl, "with Redis");
    current = server;
    cleanups.push({ what: "stopping the worker", run: () => server.stop() });
    const how = server.how;
    say(`worker ready at ${server.base} (${how})`);

    const page100 = `${server.base}/v1/leaderboards/${BOARD}?limit=100`;
    // What a game server's key and a game client's token add to a cached read: their verification.
    const { key: serverKey, token: playerToken } = await credentials(server.base);
    // First read: the Durable Object loads its top-N from Postgres once.
    const first = await getJson<PageBody>(page100, { "x-edgeboard-cache": "bypass" });
    if (
      first.body.entries.length !== 100 ||
      first.body.entries[0]?.score !== seeded.topScore ||
      first.body.total < PLAYERS
    ) {
      throw new Error(
        `the first page is wrong: ${first.body.entries.length} entries, top score ${first.body.entries[0]?.score} (expected ${seeded.topScore}), ` +
          `total ${first.body.total} (expected ${PLAYERS}): check the Durable Object rebuild`,
      );
    }
    for (const s of samples.slice(0, 20)) {
      const { res, body } = await getJson<{ rank: number }>(
        `${server.base}/v1/leaderboards/${BOARD}/players/${s.playerId}`,
      );
      if (res.headers.get("x-rank-source") !== "redis" || body.rank !== s.rank) {
        throw new Error(
          `rank of ${s.playerId}: ${body.rank} from ${res.headers.get("x-rank-source")}, expected ${s.rank} from redis: check the Redis seeding and REDIS_KEY_PREFIX`,
        );
      }
    }

    // ---------------------------------------------------------------- what players do
    const farDown = await farDownPlayers(server.base, samples);
    const userCases = userReadCases({
      base: server.base,
      helloBase: server.helloBase,
      board: BOARD,
      player: (i) => (farDown[(i * 7_919 + 13) % farDown.length] as SeededPlayer).playerId,
      get: (url, headers, expect) => getChecked(url, headers, expect),
    });
    // A tournament's standings are a board page by another name: the same cost is expected.
    const standings100 = await seedTournament(
      server,
      dbUrl,
      adminStack.neonWsProxy,
      seeded.topScore,
    );
    // Beside the board's cached page, after the floors.
    userCases.splice(userCases.findIndex((c) => c.label === "top-100, cached") + 1, 0, {
      label: "tournament top-100, cached",
      request: async () => {
        await getChecked(standings100, {}, { "x-edge-cache": /^(HIT|STALE)$/ });
      },
      prepare: async () => {
        await getChecked(standings100, {}, { "x-edge-cache": /^(MISS|HIT|STALE)$/ });
      },
      nakamaCpuMs: NAKAMA.topCpuMs,
    });
    say(
      `the reads players make: ${ROUNDS} rounds, ${userCases.length} cases each, ${CONNECTIONS} connections closed loop, ${SECONDS} s per case …`,
    );
    const userRuns = await runUserReads(
      userCases,
      {
        serverPid: server.pid,
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: ROUNDS,
        profile: PROFILE ? profileCase : undefined,
      },
      say,
    );
    console.log("");
    say(
      `results: the reads players make (${how}; ${CONNECTIONS} connections, closed loop, keep-alive node:http client, ` +
        `${SECONDS} s per case, ${ROUNDS} interleaved rounds; ${fmt(PLAYERS)} players, far-down ranks ${fmt(farDown[0]?.rank ?? 0)}-${fmt(farDown.at(-1)?.rank ?? 0)})`,
    );
    say(
      "  CPU per read from /proc: ours = workerd; local stand-ins = the Node process of the Neon and Upstash bridges " +
        `(production runs those elsewhere); then Postgres and Redis. The load generator (this process) shares the machine's ${availableParallelism()} cores.`,
    );
    printUserReads(userCases, userRuns, say);
    if (!DETAIL) return;

    const cases: CaseSpec[] = [
      {
        label: "0. app floor: GET /health (Hono and middleware, no I/O)",
        request: async () => {
          await getChecked(`${server.base}/health`, {}, {});
        },
        openLoopRate: OFFERED.topReqS,
        // At every rate the pages run at: the tail an empty request already has here.
        ladder: true,
      },
      {
        label: "1. cached top-100 (edge cache)",
        request: async () => {
          await getChecked(page100, {}, { "x-edge-cache": /^(HIT|STALE)$/ });
        },
        openLoopRate: OFFERED.topReqS,
        ladder: true,
        // Fill the edge cache; from then on every answer is a HIT (or STALE while one refresh
        // runs).
        prepare: async () => {
          await getChecked(page100, {}, { "x-edge-cache": /^(MISS|HIT|STALE)$/ });
        },
      },
      {
        label: "2. Durable Object top-100 (cache bypassed)",
        request: async () => {
          await getChecked(
            page100,
            { "x-edgeboard-cache": "bypass" },
            { "x-edge-cache": "BYPASS" },
          );
        },
        openLoopRate: OFFERED.topReqS,
      },
      {
        label: "3. rank lookup beyond the top-1000 via Redis",
        request: async (i) => {
          await getChecked(
            `${server.base}/v1/leaderboards/${BOARD}/players/${pick(i).playerId}`,
            {},
            { "x-rank-source": "redis" },
          );
        },
        openLoopRate: OFFERED.rankReqS,
        ladder: true,
      },
      {
        label: "1k. cached top-100 with a server key (Authorization: Bearer eb_...)",
        request: async () => {
          await getChecked(
            page100,
            { authorization: `Bearer ${serverKey}` },
            { "x-edge-cache": /^(HIT|STALE)$/ },
          );
        },
        // The page expires between cases (TTL + a 2 s refresh window): fill it again first.
        prepare: async () => {
          await getChecked(page100, {}, { "x-edge-cache": /^(MISS|HIT|STALE)$/ });
        },
      },
      {
        // The admin key has no budget of its own: this case is verification (one SHA-256) with
        // no second rate-limit call, which the key and token cases also make.
        label: "1a. cached top-100 with the admin key (Authorization: Bearer ADMIN_KEY)",
        request: async () => {
          await getChecked(
            page100,
            { authorization: `Bearer ${ADMIN_KEY}` },
            { "x-edge-cache": /^(HIT|STALE)$/ },
          );
        },
        // The page expires between cases (TTL + a 2 s refresh window): fill it again first.
        prepare: async () => {
          await getChecked(page100, {}, { "x-edge-cache": /^(MISS|HIT|STALE)$/ });
        },
      },
      {
        label: "1t. cached top-100 with a player token (Authorization: Bearer <JWT>)",
        request: async () => {
          await getChecked(
            page100,
            { authorization: `Bearer ${playerToken}` },
            { "x-edge-cache": /^(HIT|STALE)$/ },
          );
        },
        // The page expires between cases (TTL + a 2 s refresh window): fill it again first.
        prepare: async () => {
          await getChecked(page100, {}, { "x-edge-cache": /^(MISS|HIT|STALE)$/ });
        },
      },
    ];
    // The floors: what the runtime alone, and this machine alone, give the same client at the same
    // rates, answering /health and the cached top-100 page's own bytes (PUT to each first). Open
    // loops only, with no CPU figure: they are not the worker.
    const pageBody = (await httpGet(page100, CLIENT_HEADERS)).body;
    const floorServer = await startFloorServer();
    cleanups.push({ what: "stopping the floor server", run: () => floorServer.stop() });
    const floorRates = [
      ...new Set([...LADDER_RATES, ...(RATE ? [RATE] : [OFFERED.rankReqS, OFFERED.topReqS])]),
    ].sort((a, b) => a - b);
    const pageRates = [...new Set([...LADDER_RATES, RATE ?? OFFERED.topReqS])].sort(
      (a, b) => a - b,
    );
    const pageBytes = `the cached top-100 page's ${fmt(Buffer.byteLength(pageBody))} bytes`;
    const floorBases = [
      ...(server.helloBase
        ? [
            {
              base: server.helloBase,
              name: "runtime floor",
              what: "the hello-world worker on the same workerd",
            },
          ]
        : []),
      {
        base: floorServer.base,
        name: "machine floor",
        what: "a node:http hello-world in a process of its own",
      },
    ];
    for (const { base, name, what } of floorBases) {
      const put = await fetch(`${base}/page`, { method: "PUT", body: pageBody });
      if (put.status !== 204)
        throw new Error(
          `the ${name} did not take the page (${put.status}): check bench/lib/workerd.ts or floor-server.ts`,
        );
      const floors = [
        {
          label: `${name}: ${what}`,
          url: `${base}/health`,
          rates: floorRates,
          answers: "what /health answers",
        },
        {
          label: `${name} for a page: ${what}`,
          url: `${base}/page`,
          rates: pageRates,
          answers: pageBytes,
        },
      ];
      for (const floor of floors) {
        cases.push({
          label: floor.label,
          request: async () => {
            await getChecked(floor.url, {}, {});
          },
          rates: floor.rates,
          answers: floor.answers,
          openLoopOnly: true,
        });
      }
    }
    const openLoopRuns = await openLoopsByRate(cases);
    for (const [i, spec] of cases.entries()) {
      if (!spec.openLoopOnly) results.push(await runCase(server, spec, openLoopRuns[i] ?? []));
    }
    const floors = cases.flatMap((spec, i) =>
      spec.openLoopOnly
        ? [{ label: spec.label, answers: spec.answers ?? "", runs: openLoopRuns[i] ?? [] }]
        : [],
    );
    await floorServer.stop();

    say(`5. stampede: ${fmt(STAMPEDE)} concurrent cold requests for one page …`);
    const burst = await stampede(server);
    say(
      `  done: ${[...burst.statuses].map(([s, n]) => `${n} × ${s === -1 ? "connection error" : s}`).join(", ")}`,
    );

    say(
      `6. freshness: ${FRESHNESS_ROUNDS} rounds of a new rank-1 score each through the Durable Object page and the cached page, then ${QUIET_ROUNDS} reads after ${QUIET_SECONDS} s quiet …`,
    );
    const fresh = await freshness(server, seeded.topScore, "object", 0);
    const freshCached = await freshness(server, seeded.topScore, "cached", FRESHNESS_ROUNDS);
    const quiet = await afterQuiet(server);
    await server.stop();

    // ---------------------------------------------------------------- without Redis
    const fallback = await startServer(
      dbUrl,
      undefined,
      "without REDIS_URL: the Postgres fallback",
    );
    current = fallback;
    cleanups.push({ what: "stopping the fallback worker", run: () => fallback.stop() });
    for (const s of samples.slice(0, 3)) {
      const { res, body } = await getJson<{ rank: number }>(
        `${fallback.base}/v1/leaderboards/${BOARD}/players/${s.playerId}`,
      );
      // The freshness rounds (both paths) put 2 × FRESHNESS_ROUNDS players ahead of everyone.
      const ahead = 2 * FRESHNESS_ROUNDS;
      if (res.headers.get("x-rank-source") !== "postgres" || body.rank !== s.rank + ahead) {
        throw new Error(
          `fallback rank of ${s.playerId}: ${body.rank} from ${res.headers.get("x-rank-source")}, expected ${s.rank + ahead} from postgres`,
        );
      }
    }
    results.push(
      await runCase(
        fallback,
        {
          label: `4. rank lookup beyond the top-1000 via Postgres (no Redis; ${POSTGRES_RANK_CONCURRENCY} concurrent, what one isolate runs at once)`,
          // More would only wait at the isolate's gate (src/stores/postgres/rank-gate.ts), and
          // past its 3 s be answered 503: that is load shedding, not the fallback's speed.
          concurrency: POSTGRES_RANK_CONCURRENCY,
          request: async (i) => {
            await getChecked(
              `${fallback.base}/v1/leaderboards/${BOARD}/players/${pick(i).playerId}`,
              {},
              { "x-rank-source": "postgres" },
            );
          },
        },
        [],
      ),
    );
    await fallback.stop();

    // ---------------------------------------------------------------- results
    const [floor, cached, viaDo, viaRedis, withKey, withAdmin, withToken, viaPostgres] =
      results as [
        CaseResult,
        CaseResult,
        CaseResult,
        CaseResult,
        CaseResult,
        CaseResult,
        CaseResult,
        CaseResult,
      ];
    const p99 = (r: CaseResult) => percentile(r.load.latenciesMs, 99);
    const nakamaRun = (r: CaseResult) => r.atRates.at(-1);
    const p99AtRate = (r: CaseResult) => {
      const run = nakamaRun(r);
      return run ? percentile(run.latenciesMs, 99) : Number.NaN;
    };
    /** "met at 200, 400 req/s; missed at 100 (28.4 ms), 800 (8.3 ms)" */
    const byRate = (r: CaseResult, targetMs: number) => {
      const p99s = r.atRates.map((a) => ({ rate: a.rate, p99: percentile(a.latenciesMs, 99) }));
      const met = p99s.filter((a) => a.p99 < targetMs).map((a) => fmt(a.rate));
      const missed = p99s
        .filter((a) => a.p99 >= targetMs)
        .map((a) => `${fmt(a.rate)} (${fmt(a.p99, 1)} ms)`);
      return [
        met.length > 0 ? `met at ${met.join(", ")} req/s` : "",
        missed.length > 0 ? `missed at ${missed.join(", ")}` : "",
      ]
        .filter(Boolean)
        .join("; ");
    };
    const cpuPerRead = (r: CaseResult) => r.cpu.total / (r.load.requests / 1000);
    /** "; at 1,600 req/s the floors' p99: runtime floor 7.1 ms, machine floor 1.0 ms" */
    const floorAt = (rate: number) => {
      const at = floors.flatMap((f) => {
        const run = f.runs.find((r) => r.rate === rate);
        return run
          ? [`${f.label.split(":")[0]} ${fmt(percentile(run.latenciesMs, 99), 2)} ms`]
          : [];
      });
      return at.length > 0 ? `; at ${fmt(rate)} req/s the floors' p99: ${at.join(", ")}` : "";
    };
    const rate = (r: CaseResult) => r.load.requests / r.load.seconds;
    console.log("");
    say(
      `results (${how}; ${CONCURRENCY} concurrent, ${SECONDS} s per case, closed loop, keep-alive node:http client; ` +
        `open-loop runs ${SECONDS / 2} s; ${fmt(PLAYERS)} players)`,
    );
    say(
      "  server CPU = the worker's process tree (Node: the two bridges and wrangler's idle controllers; workerd) + every postgres and" +
        " redis-server process on the machine. The load generator (this process) is excluded but shares the machine's " +
        `${availableParallelism()} cores. Responses uncompressed (accept-encoding: identity).`,
    );
    for (const r of results) for (const line of caseLine(r)) say(`  ${line}`);
    for (const floor of floors) {
      say(
        `  ${floor.label}, answering ${floor.answers} (same client, same schedule): ` +
          floor.runs
            .map(
              ({ rate, latenciesMs }) =>
                `at ${fmt(rate)} req/s p50 ${fmt(percentile(latenciesMs, 50), 2)}, p99 ${fmt(percentile(latenciesMs, 99), 2)} ms`,
            )
            .join("; "),
      );
    }
    say("  worker counters during each measured run (GET /v1/admin/metrics):");
    for (const r of results.slice(1)) {
      say(
        `    ${r.label.slice(0, 2)} ${counters(r.metrics, ["cacheHit", "cacheStale", "cacheMiss", "doReads", "redisReads", "postgresReads", "postgresQueries", "postgresConnections"])}`,
      );
    }
    const burstP = (p: number) => fmt(percentile(burst.latenciesMs, p), 1);
    say(
      `  5. stampede, ${fmt(STAMPEDE)} concurrent cold requests (?limit=${burst.limit}): DO reads ${fmt(burst.delta.doReads ?? 0)}, ` +
        `database queries ${fmt(databaseTouches(burst.delta))}; cache misses ${fmt(burst.delta.cacheMiss ?? 0)}, ` +
        `hits ${fmt(burst.delta.cacheHit ?? 0)}; latency p50 ${burstP(50)} ms, p99 ${burstP(99)} ms; ` +
        `${[...burst.statuses].map(([s, n]) => `${n} × ${s === -1 ? "connection error" : s}`).join(", ")}`,
    );
    say(
      `  6. freshness, POST /v1/events 202 → first on the DO page (${fresh.length} rounds): p50 ${fmt(percentile(fresh, 50), 2)} s, ` +
        `p99 ${fmt(percentile(fresh, 99), 2)} s, max ${fmt(Math.max(...fresh), 2)} s`,
    );
    say(
      `     … → first on the ordinary cached page (${freshCached.length} rounds): p50 ${fmt(percentile(freshCached, 50), 2)} s, ` +
        `p99 ${fmt(percentile(freshCached, 99), 2)} s, max ${fmt(Math.max(...freshCached), 2)} s`,
    );
    say(
      `     first cached read after ${QUIET_SECONDS} s quiet (${quiet.length} reads): ${quiet.map((q) => q.outcome).join(", ")}; ` +
        `age max ${fmt(Math.max(...quiet.map((q) => q.ageSeconds)), 0)} s; showing what the object holds in ${quiet.filter((q) => q.current).length} / ${quiet.length}`,
    );
    console.log("");
    say(
      `targets (open loops at ${fmt(OFFERED.topReqS)} page reads/s and ${fmt(OFFERED.rankReqS)} rank lookups/s; Nakama's measured figures are compared in the side-by-side cases above)`,
    );
    say(
      `  cached read p99 < ${TARGET_CACHED_P99_MS} ms: ${fmt(p99AtRate(cached), 2)} ms at ${fmt(nakamaRun(cached)?.rate ?? 0)} req/s ${ok(p99AtRate(cached) < TARGET_CACHED_P99_MS)}; ` +
        `open loop: ${byRate(cached, TARGET_CACHED_P99_MS)}; ` +
        `${fmt(percentile(cached.unloaded, 99), 2)} ms one at a time ${ok(percentile(cached.unloaded, 99) < TARGET_CACHED_P99_MS)}; ` +
        `${fmt(p99(cached), 2)} ms at ${CONCURRENCY} concurrent (closed loop: queueing on the shared cores) ${ok(p99(cached) < TARGET_CACHED_P99_MS)}` +
        floorAt(nakamaRun(cached)?.rate ?? 0),
    );
    say(
      `  Redis rank lookup p99 < ${TARGET_REDIS_P99_MS} ms: ${fmt(p99AtRate(viaRedis), 2)} ms at ${fmt(nakamaRun(viaRedis)?.rate ?? 0)} req/s ${ok(p99AtRate(viaRedis) < TARGET_REDIS_P99_MS)}; ` +
        `open loop: ${byRate(viaRedis, TARGET_REDIS_P99_MS)}; ` +
        `${fmt(percentile(viaRedis.unloaded, 99), 2)} ms one at a time ${ok(percentile(viaRedis.unloaded, 99) < TARGET_REDIS_P99_MS)}; ` +
        `${fmt(p99(viaRedis), 2)} ms at ${CONCURRENCY} concurrent ${ok(p99(viaRedis) < TARGET_REDIS_P99_MS)}` +
        floorAt(nakamaRun(viaRedis)?.rate ?? 0),
    );
    say(
      `  server CPU per read, at most half of ${NAKAMA_REFERENCE}: ` +
        [
          { r: cached, nakama: NAKAMA.topCpuMs },
          { r: viaDo, nakama: NAKAMA.topCpuMs },
          { r: viaRedis, nakama: NAKAMA.rankCpuMs },
          { r: viaPostgres, nakama: NAKAMA.rankCpuMs },
        ]
          .map(
            ({ r, nakama }) =>
              `${r.label.slice(0, 1)}. ${fmt(cpuPerRead(r), 3)} ms ${ok(cpuPerRead(r) <= nakama[0] / 2)} (≤ ${fmt(nakama[0] / 2, 3)})`,
          )
          .join(", ") +
        ` (for scale: GET /health costs ${fmt(cpuPerRead(floor), 3)} ms on this machine and runtime)`,
    );
    say(
      `  credential verification per cached read (CPU over case 1, same run): server key ` +
        `${fmt(cpuPerRead(withKey) - cpuPerRead(cached), 3)} ms ${ok(cpuPerRead(withKey) - cpuPerRead(cached) < TARGET_KEY_CPU_MS)} ` +
        `(target < ${TARGET_KEY_CPU_MS} ms), player token ${fmt(cpuPerRead(withToken) - cpuPerRead(cached), 3)} ms ` +
        `${ok(cpuPerRead(withToken) - cpuPerRead(cached) < TARGET_TOKEN_CPU_MS)} (target < ${TARGET_TOKEN_CPU_MS} ms); ` +
        `both include the caller's own rate-limit call, which the admin key (one SHA-256, no budget of its own) does not: ` +
        `${fmt(cpuPerRead(withAdmin) - cpuPerRead(cached), 3)} ms`,
    );
    say(
      `  throughput at ${CONCURRENCY} concurrent: top-100 cached ${fmt(rate(cached))}/s, DO ${fmt(rate(viaDo))}/s; ` +
        `rank lookups: Redis ${fmt(rate(viaRedis))}/s, Postgres ${fmt(rate(viaPostgres))}/s ` +
        `(GET /health: ${fmt(rate(floor))}/s)`,
    );
    const topNQueries = databaseTouches(cached.metrics) + databaseTouches(viaDo.metrics);
    const topNRankQueries =
      (cached.metrics.postgresReads ?? 0) + (viaDo.metrics.postgresReads ?? 0);
    // The isolate keeps board definitions for 30 s (src/stores/cache/boards.ts FRESH_MS): one
    // reload per board per 30 s may query; that is not a query per read.
    const boardReloads = Math.ceil(cached.load.seconds / 30) + Math.ceil(viaDo.load.seconds / 30);
    const stampedeQueries = databaseTouches(burst.delta);
    say(
      `  zero database queries on the top-N read path: ${fmt(topNRankQueries)} rank queries and ${fmt(topNQueries)} database queries ` +
        `in cases 1-2 (${fmt(cached.load.requests + viaDo.load.requests)} reads; up to ${boardReloads} expected from the isolate's 30-s ` +
        `board-definition refresh), ${fmt(stampedeQueries)} in the stampede ` +
        `${ok(topNRankQueries === 0 && topNQueries <= boardReloads && stampedeQueries === 0)}`,
    );
    say(
      `  stampede: 1 DO read and 0 database queries: ${fmt(burst.delta.doReads ?? 0)} and ${fmt(stampedeQueries)} ` +
        `${ok(burst.delta.doReads === 1 && stampedeQueries === 0)}`,
    );
    say(
      `  freshness p99 < ${TARGET_FRESH_P99_S} s: ${fmt(percentile(fresh, 99), 2)} s via the object ${ok(percentile(fresh, 99) < TARGET_FRESH_P99_S)}, ` +
        `${fmt(percentile(freshCached, 99), 2)} s via the cached page ${ok(percentile(freshCached, 99) < TARGET_FRESH_P99_S)}`,
    );
    const oldest = Math.max(...quiet.map((q) => q.ageSeconds));
    say(
      `  after a quiet spell no page older than TTL + refresh (${PAGE_TTL_S + PAGE_REFRESH_S} s), and current: ${fmt(oldest, 0)} s, ` +
        `${quiet.filter((q) => q.current).length} / ${quiet.length} current ${ok(oldest <= PAGE_TTL_S + PAGE_REFRESH_S && quiet.every((q) => q.current))}`,
    );
  } catch (error) {
    const tail = (current?.lines ?? [])
      .filter((l) => !/Request\.cf|workers\.cloudflare\.com|GetAddrInfoReqWrap/.test(l))
      .slice(-25);
    if (tail.length > 0) say(`the worker's last output lines:\n    ${tail.join("\n    ")}`);
    throw error;
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(`[bench:read] failed: ${(error as Error).message}`);
  process.exit(1);
});
