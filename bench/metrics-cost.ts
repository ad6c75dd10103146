// `npm run bench:metrics-cost`: the workerd CPU each request spends on its metrics data point and
// its log line (docs/operations.md "Metrics"). Comparing whole `npm run bench:read` runs with
// METRICS_ENABLED toggled cannot resolve a few microseconds here: on a shared machine their CPU per
// read moves by ±20% between rounds. So the worker's own app is bundled into a small worker that,
// per call, answers BENCH_CALLS GET /health requests in-process (app.fetch: every middleware, the
// route, the data point into the local sink, the log line through workerd's console) with the
// metrics off, with the data point only (LOG_LEVEL=warn), or with both; the three alternate in
// turn for BENCH_ROUNDS rounds, and each call's workerd CPU comes from /proc. No network, no
// database: the difference per request is the added work alone, log plumbing included.
//   BENCH_CALLS (requests per call, default 20000)   BENCH_ROUNDS (default 12)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { cpuDelta, serverCpuSeconds } from "./lib/cpu.ts";
import { fmt, percentile } from "./lib/stats.ts";

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const say = (line: string) => console.log(`[bench:metrics-cost] ${line}`);

/** The first is the baseline; each other is compared with it round by round. */
const VARIANTS = [
  { label: "metrics off", query: "metrics=false&log=info" },
  { label: "data point only (LOG_LEVEL=warn)", query: "metrics=true&log=warn" },
  { label: "data point and log line", query: "metrics=true&log=info" },
];

/** The loop worker: the real app, its rate limiter always allowing (no binding is simulated). */
const ENTRY = `
import { createApp } from ${JSON.stringify(join(REPO_ROOT, "src/app.ts"))};
export { LeaderboardDO, LiveRelay, ReplayGuard } from ${JSON.stringify(join(REPO_ROOT, "src/index.ts"))};
const app = createApp();
const allow = { limit: async () => ({ success: true }) };
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const calls = Number(url.searchParams.get("calls"));
    const bindings = {
      ...env,
      ENVIRONMENT: "development",
      METRICS_ENABLED: url.searchParams.get("metrics"),
      METRICS_SINK: "local",
      LOG_LEVEL: url.searchParams.get("log"),
      RATE_LIMIT_READ_IP: allow,
    };
    for (let i = 0; i < calls; i++) {
      const res = await app.fetch(new Request("http://bench.test/health"), bindings, ctx);
      await res.arrayBuffer();
    }
    return new Response("done");
  },
};
`;

function bundle(dir: string): string {
  const entry = join(dir, "entry.ts");
  writeFileSync(entry, ENTRY);
  const out = join(dir, "out");
  const result = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      out,
      "--config",
      join(REPO_ROOT, "wrangler.toml"),
      "--env=",
      entry,
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn" },
      encoding: "utf8",
    },
  );
  if (result.status !== 0)
    throw new Error(`bundling failed:\n${(result.stdout + result.stderr).slice(-2000)}`);
  return join(out, "entry.js");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "edgeboard-metrics-cost-"));
  say("bundling the app into a loop worker (wrangler deploy --dry-run) …");
  const script = bundle(dir);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [{ type: "ESModule", path: script }],
      modulesRoot: dirname(script),
      compatibilityDate: "2026-11-01",
      compatibilityFlags: ["nodejs_compat"],
      // Lines are dropped once parsed: the parent's work is not the worker's.
      handleStructuredLogs: () => {},
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  try {
    await mf.ready;
    const call = async (query: string, calls: number) => {
      const before = serverCpuSeconds(process.pid);
      const res = await mf.dispatchFetch(`http://bench.test/?calls=${calls}&${query}`);
      if ((await res.text()) !== "done") throw new Error(`the loop worker answered ${res.status}`);
      return (cpuDelta(before, serverCpuSeconds(process.pid)).byName.workerd ?? 0) / calls;
    };
    for (const v of VARIANTS) await call(v.query, Math.ceil(CALLS / 4)); // warm-up
    say(`${ROUNDS} rounds of ${fmt(CALLS)} requests per variant, the variants' order turning …`);
    const perRequest: number[][] = VARIANTS.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const index = (round + k) % VARIANTS.length;
        perRequest[index]?.push(await call((VARIANTS[index] as { query: string }).query, CALLS));
      }
    }
    const us = (seconds: number) => seconds * 1e6;
    const base = perRequest[0] as number[];
    say(
      `GET /health in-process, workerd CPU per request: ${VARIANTS[0]?.label} ` +
        `${fmt(us(percentile(base, 50)), 2)} µs (median of ${ROUNDS} rounds)`,
    );
    for (let index = 1; index < VARIANTS.length; index++) {
      const mine = perRequest[index] as number[];
      const added = mine.map((s, round) => us(s - (base[round] as number)));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      say(
        `  ${VARIANTS[index]?.label}: ${fmt(us(percentile(mine, 50)), 2)} µs; added per request: ` +
          `median ${fmt(percentile(added, 50), 2)} µs (quartiles ${fmt(percentile(added, 25), 2)} ` +
          `to ${fmt(percentile(added, 75), 2)}), mean ${fmt(mean(added), 2)} µs`,
      );
    }
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
