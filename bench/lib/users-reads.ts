// The side-by-side read cases of `npm run bench:read` (issue 16's table): what players' clients do,
// each case 50 keep-alive connections (node:http) in a closed loop for a fixed time, the cases
// interleaved round by round so a machine that drifts moves them alike. Each run reports reads/s,
// p50/p99 latency and server CPU per read from /proc, ours (workerd) apart from the local
// stand-ins, next to Nakama's reference run (bench/lib/nakama.ts).
import { type CpuShares, cpuDelta, cpuSharesMs, formatShares, serverCpuSeconds } from "./cpu.ts";
import { collectGarbage } from "./gc.ts";
import { closedLoop } from "./load.ts";
import { NAKAMA, NAKAMA_REFERENCE, type Range, versusNakama } from "./nakama.ts";
import { fmt, percentile } from "./stats.ts";

/** Rank and around-me are answered from Redis while it is healthy: a read from elsewhere fails the run. */
const REDIS = { "x-rank-source": "redis" };

export interface UserReadCase {
  label: string;
  request: (i: number) => Promise<void>;
  /** Run before each warm-up (e.g. fill the edge cache). */
  prepare?: () => Promise<void>;
  /**
   * Nakama's CPU per read for this kind of read, and its p99 where the reference has one; none
   * for the floor.
   */
  nakamaCpuMs?: Range;
  nakamaP99Ms?: Range;
  /** Answered with one Upstash command: also printed beyond the floor that includes one. */
  redisRead?: boolean;
}

export interface UserReadRun {
  round: number;
  readsPerS: number;
  p50: number;
  p99: number;
  cpu: CpuShares;
}

/** The floor's label: the other cases' workerd CPU is also printed beyond it. */
const FLOOR_LABEL = "floor: hello-world worker, one Rate Limiting call";
/** The first floor and one JSON log line shaped as ours: what the runtime's logging costs here. */
const LOGGED_FLOOR_LABEL = "floor: the same and one JSON log line";
/** The floor under a Redis read: the same and one Upstash command; rank and around-me stand on it. */
const REDIS_FLOOR_LABEL = "floor: the same and one Upstash command";
/**
 * Our worker answering GET /health: Hono, our middleware, the route's guard (one Rate Limiting
 * call), the log line, and no route work. What a read costs beyond it is the route's own.
 */
const PIPELINE_LABEL = "our pipeline alone: GET /health on our worker";

/**
 * The four reads of the reference table, for a board and far-down players to pick from; with
 * `helloBase` first the floor every read stands on, in the same rounds: the hello-world worker on
 * the same workerd answering after one call of a Rate Limiting binding bound as ours are (the
 * lifted stand-in; a read calls its address's), bench/lib/workerd.ts.
 */
export function userReadCases(opts: {
  base: string;
  helloBase?: string;
  board: string;
  /** The i-th request's far-down player. */
  player: (i: number) => string;
  get: (
    url: string,
    headers: Record<string, string>,
    expect: Record<string, string | RegExp>,
  ) => Promise<unknown>;
}): UserReadCase[] {
  const { base, board, player, get, helloBase } = opts;
  const page100 = `${base}/v1/leaderboards/${board}?limit=100`;
  const floor: UserReadCase[] = helloBase
    ? [
        {
          label: FLOOR_LABEL,
          request: async () => {
            await get(`${helloBase}/limited`, {}, {});
          },
        },
        {
          label: LOGGED_FLOOR_LABEL,
          request: async () => {
            await get(`${helloBase}/logged`, {}, {});
          },
        },
        {
          label: REDIS_FLOOR_LABEL,
          request: async () => {
            await get(`${helloBase}/redis`, {}, {});
          },
        },
      ]
    : [];
  return [
    ...floor,
    {
      label: PIPELINE_LABEL,
      request: async () => {
        await get(`${base}/health`, {}, {});
      },
    },
    {
      label: "top-100, cached",
      request: async () => {
        await get(page100, {}, { "x-edge-cache": /^(HIT|STALE)$/ });
      },
      // Every answer is then a HIT (or STALE while one refresh runs).
      prepare: async () => {
        await get(page100, {}, { "x-edge-cache": /^(MISS|HIT|STALE)$/ });
      },
      nakamaCpuMs: NAKAMA.topCpuMs,
    },
    {
      label: "top-100 from the Durable Object (cache bypassed)",
      request: async () => {
        await get(page100, { "x-edgeboard-cache": "bypass" }, { "x-edge-cache": "BYPASS" });
      },
      nakamaCpuMs: NAKAMA.topCpuMs,
    },
    {
      label: "rank of a player far down",
      request: async (i) => {
        await get(`${base}/v1/leaderboards/${board}/players/${player(i)}`, {}, REDIS);
      },
      nakamaCpuMs: NAKAMA.rankCpuMs,
      nakamaP99Ms: NAKAMA.rankP99Ms,
      redisRead: true,
    },
    {
      label: "around-me, 11 rows",
      request: async (i) => {
        await get(`${base}/v1/leaderboards/${board}/players/${player(i)}/around?n=5`, {}, REDIS);
      },
      nakamaCpuMs: NAKAMA.aroundCpuMs,
      nakamaP99Ms: NAKAMA.aroundP99Ms,
      redisRead: true,
    },
  ];
}

/** One measured run: a 1 s warm-up, then `seconds` bracketed by the server's CPU. */
async function measure(
  spec: UserReadCase,
  opts: {
    serverPid: number;
    connections: number;
    seconds: number;
    round: number;
    profile?: (label: string) => Promise<() => Promise<void>>;
  },
  say: (line: string) => void,
): Promise<UserReadRun> {
  await spec.prepare?.();
  // The load generator's own garbage would otherwise be collected inside a run, on shared cores.
  collectGarbage();
  const warm = await closedLoop({
    concurrency: opts.connections,
    seconds: 1,
    request: spec.request,
  });
  if (warm.failures > 0)
    throw new Error(
      `${spec.label}: warm-up requests failed (${warm.firstFailure}); see the worker's output below`,
    );
  const stopProfile = await opts.profile?.(spec.label);
  const before = serverCpuSeconds(opts.serverPid);
  const load = await closedLoop({
    concurrency: opts.connections,
    seconds: opts.seconds,
    request: spec.request,
    progress: (done, elapsed) =>
      say(`    ${fmt(done)} reads (${fmt(elapsed, 0)} s of ${opts.seconds})`),
    progressEverySeconds: 5,
  });
  const cpu = cpuDelta(before, serverCpuSeconds(opts.serverPid));
  await stopProfile?.();
  if (load.failures > 0)
    throw new Error(
      `${spec.label}: ${load.failures} reads failed or answered unexpectedly; the first: ${load.firstFailure}; see the worker's output below`,
    );
  return {
    round: opts.round,
    readsPerS: load.requests / load.seconds,
    p50: percentile(load.latenciesMs, 50),
    p99: percentile(load.latenciesMs, 99),
    cpu: cpuSharesMs(cpu, load.requests),
  };
}

/** Every case once per round, rounds one after another; each case's runs in round order. */
export async function runUserReads(
  cases: UserReadCase[],
  opts: {
    serverPid: number;
    connections: number;
    seconds: number;
    rounds: number;
    /** Starts a CPU profile of the case; what it returns stops and prints it. */
    profile?: (label: string) => Promise<() => Promise<void>>;
  },
  say: (line: string) => void,
): Promise<UserReadRun[][]> {
  const runs: UserReadRun[][] = cases.map(() => []);
  for (let round = 1; round <= opts.rounds; round++) {
    for (const [i, spec] of cases.entries()) {
      say(
        `  round ${round} / ${opts.rounds}: ${spec.label}, ${opts.connections} connections for ${opts.seconds} s …`,
      );
      const run = await measure(spec, { ...opts, round }, say);
      say(
        `    ${fmt(run.readsPerS)} reads/s, p50 ${fmt(run.p50, 2)} ms, p99 ${fmt(run.p99, 2)} ms; CPU per read ${formatShares(run.cpu)}`,
      );
      runs[i]?.push(run);
    }
  }
  return runs;
}

/** "0.31-0.42" over the rounds, or one figure for one round. */
function span(values: number[], digits: number): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? fmt(low, digits) : `${fmt(low, digits)}-${fmt(high, digits)}`;
}

/** Each case's rounds, then the table in the shape of the issue's, with Nakama's figures beside. */
export function printUserReads(
  cases: UserReadCase[],
  runs: UserReadRun[][],
  say: (line: string) => void,
): void {
  const floorRun = (label: string, round: number) => {
    const index = cases.findIndex((c) => c.label === label);
    return index < 0 ? undefined : runs[index]?.find((r) => r.round === round)?.cpu.ours;
  };
  const floorOf = (round: number) => floorRun(FLOOR_LABEL, round);
  const redisFloorOf = (round: number) => floorRun(REDIS_FLOOR_LABEL, round);
  for (const [i, spec] of cases.entries()) {
    say(`  ${spec.label}:`);
    for (const r of runs[i] ?? []) {
      say(
        `    round ${r.round}: ${fmt(r.readsPerS)} reads/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms; CPU per read ${formatShares(r.cpu)}`,
      );
      const floor = floorOf(r.round);
      if (!spec.nakamaCpuMs) continue;
      if (floor !== undefined)
        say(
          `      beyond the floor (workerd − the same round's floor, ${fmt(floor, 3)} ms): ${fmt(r.cpu.ours - floor, 3)} ms, with Postgres and Redis ${fmt(r.cpu.ours - floor + r.cpu.postgres + r.cpu.redis, 3)} ms`,
        );
      const redisFloor = redisFloorOf(r.round);
      if (spec.redisRead && redisFloor !== undefined)
        say(
          `      beyond the floor with one Upstash command (${fmt(redisFloor, 3)} ms): ${fmt(r.cpu.ours - redisFloor, 3)} ms`,
        );
      const pipeline = floorRun(PIPELINE_LABEL, r.round);
      if (pipeline !== undefined)
        say(
          `      beyond our pipeline (GET /health, ${fmt(pipeline, 3)} ms): ${fmt(r.cpu.ours - pipeline, 3)} ms, the route's own work`,
        );
      say(
        `      vs ${NAKAMA_REFERENCE}: CPU ${versusNakama(r.cpu.total, spec.nakamaCpuMs, " ms", 2, "lower")}` +
          `; ours alone (workerd) ${fmt(r.cpu.ours, 3)} ms` +
          (spec.nakamaP99Ms
            ? `; p99 ${versusNakama(r.p99, spec.nakamaP99Ms, " ms", 0, "lower")}`
            : ""),
      );
    }
  }
  say(
    `  | case | ${NAKAMA_REFERENCE}: CPU per read, p99 | this run: CPU per read (ours; local stand-ins), p99, reads/s | ratio, CPU |`,
  );
  say("  |---|---|---|---|");
  for (const [i, spec] of cases.entries()) {
    const rs = runs[i] ?? [];
    if (rs.length === 0 || !spec.nakamaCpuMs) continue;
    const total = rs.map((r) => r.cpu.total);
    const nakama = `${fmt(spec.nakamaCpuMs[0], 2)}-${fmt(spec.nakamaCpuMs[1], 2)} ms${spec.nakamaP99Ms ? `, ${spec.nakamaP99Ms[0]}-${spec.nakamaP99Ms[1]} ms` : ""}`;
    const ours =
      `${span(total, 3)} ms (workerd ${span(
        rs.map((r) => r.cpu.ours),
        3,
      )}; stand-ins ${span(
        rs.map((r) => r.cpu.standIns),
        3,
      )}), ` +
      `${span(
        rs.map((r) => r.p99),
        0,
      )} ms, ${span(
        rs.map((r) => r.readsPerS),
        0,
      )}/s`;
    const ratio = `${fmt(Math.min(...total) / spec.nakamaCpuMs[1], 2)}-${fmt(Math.max(...total) / spec.nakamaCpuMs[0], 2)}×`;
    const beyond = rs.flatMap((r) => {
      const floor = spec.redisRead ? redisFloorOf(r.round) : floorOf(r.round);
      return floor === undefined ? [] : [r.cpu.ours - floor];
    });
    say(
      `  | ${spec.label} | ${nakama} | ${ours}${beyond.length > 0 ? `; workerd beyond its floor${spec.redisRead ? " (with one Upstash command)" : ""} ${span(beyond, 3)}` : ""} | ${ratio} |`,
    );
  }
}
