// The worker served by workerd itself, for the benchmarks and the fault suite (test/faults).
// `wrangler dev` puts a ProxyWorker (in a second workerd) and miniflare's entry worker in front of
// the user worker, and its dev build adds middleware: on this 2-core machine a hello-world costs
// 0.81 ms of workerd CPU per request that way, against 0.12 ms when workerd serves it on a socket
// of its own. Figures through the dev path would mostly measure the dev tooling. This file is both
// the launcher (`startWorkerdServer`, used by bench/read.ts, bench/ingest.ts and
// test/faults/run.ts) and, run as a script, the server process it launches:
//
//   node bench/lib/workerd.ts   env: BENCH_DATABASE_URL (required), REDIS_URL (optional), ADMIN_KEY,
//                               and the WORKERD_* variables `WorkerdOptions` sets
//
// The server process starts the local stack (Neon WebSocket bridge, Upstash bridge), builds the
// production bundle (`wrangler deploy --dry-run`), and runs it in miniflare with wrangler.toml's
// bindings translated by wrangler itself (`unstable_getMiniflareWorkerOptions`: Durable Objects,
// queues and their consumers, cache, crons; state in memory unless a persistence directory is
// given, where Durable Object storage survives a restart), plus a direct socket on the worker
// (`unsafeDirectSockets`), whose address it prints: the benchmark calls that socket. Subrequests
// (Upstash's REST calls) go straight to the network, not through miniflare's outbound interceptor
// worker (`fetchStraightToTheNetwork` below; BENCH_OUTBOUND=miniflare keeps it). One process
// group, so its CPU (this Node: bridges and miniflare's loopback; workerd) is measured apart from
// the load. Beside the worker, on a socket of its own, runs a hello-world worker: the runtime's
// own latency floor, which bench:read measures at the same rates.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const READY_PREFIX = "[workerd] ready:";
const START_TIMEOUT_MS = 120_000;
/**
 * The runtime's floor: a worker that answers what GET /health answers, with no framework and no
 * middleware, served by the same workerd on a socket of its own. GET /page answers the bytes last
 * PUT there (bench:read puts the cached top-100 page): the runtime's floor for a page read. POST
 * /event queues its body on a queue of its own whose consumer acks it (GET /delivered counts
 * them): the runtime's and the local queue broker's floor for one score per request. GET /limited
 * answers after one call of a Rate Limiting binding bound as the worker's are: that call's floor.
 * GET /redis adds one Upstash command to that (the floor under a rank read). POST /buffered is the
 * coalescing alternative's floor: the event written to one of four SQLite
 * Durable Objects, which queue what they hold once a second as packed messages of 100.
 */
const HELLO_MODULE = "hello-floor.js";
/** The floor's worker and the lifted limiters: plain JavaScript, served as they are. */
const WORKERS_DIR = join(REPO_ROOT, "bench/workers");
const FLOOR_QUEUE = "bench-floor-events";
const LIFTED_LIMITS = "lifted-limits";
const LIFTED_MODULE = "lifted-limits.js";

/** What the figures were measured through, for the benchmarks' reports. */
export function workerdPath(): string {
  return process.env.BENCH_OUTBOUND === "miniflare"
    ? "measured on workerd directly, subrequests through miniflare's outbound interceptor"
    : "measured on workerd directly, subrequests straight to the network";
}

export interface WorkerdServer {
  /** workerd's own socket (the user worker, no wrangler proxy in between). */
  base: string;
  /** A hello-world worker on the same workerd (its own socket): the runtime's floor, for scale. */
  helloBase: string;
  /** wrangler's proxy in front of the same worker (not used for measurements). */
  proxyBase: string;
  /** The local Upstash bridge the worker uses (with REDIS_URL): its watch counts commands. */
  upstash?: { url: string; token: string };
  pid: number;
  /** Every line the server printed. */
  lines: string[];
  stop(): Promise<void>;
  /**
   * SIGKILL to the whole process group (workerd, the bridges), as a crash would; waits for the
   * exit.
   */
  kill(): Promise<void>;
}

/** What the fault suite changes about the server; the benchmarks use none of it. */
export interface WorkerdOptions {
  /**
   * miniflare's persistence root: Durable Object storage (SQLite) is kept there, so a server
   * started again on the same directory finds the objects' state. Default: everything in memory.
   * Queue contents are never persisted (miniflare's broker keeps them in memory).
   */
  persistDir?: string;
  /**
   * Where the bundle is built, or reused if it holds one already (index.js), so a restart does
   * not rebuild it. The caller owns the directory. Default: a temporary one per server.
   */
  bundleDir?: string;
  /**
   * A module in `bundleDir` that becomes the worker's main module and imports "./index.js" (the
   * bundle), e.g. to add a fault-injection route. Default: the bundle itself.
   */
  entryModule?: string;
  /** WRANGLER_LOG of the server process (the worker's console output); default "warn". */
  wranglerLog?: string;
  /**
   * Serve wrangler.toml's static assets (the console's and /docs' files) in front of the Worker,
   * as the platform does (test/browser needs them). Default off: miniflare runs the asset router
   * as JavaScript workers in the same workerd, which cost ~0.45 ms of CPU per request here
   * (0.199 ms against 0.645 ms per cached page read) where the platform's router runs no Worker
   * code at all, so a benchmark with it would mostly measure miniflare.
   */
  assets?: boolean;
}

type ServerEnv = { BENCH_DATABASE_URL: string; REDIS_URL?: string | undefined; ADMIN_KEY: string };

/**
 * Starts this file as a separate process group and waits for workerd's address. A port picked
 * free can be taken by another socket before workerd binds it (the local stack's own connections
 * draw from the same ephemeral range): such a start is tried again with new ports, twice at most.
 */
export async function startWorkerdServer(
  env: ServerEnv,
  say: (line: string) => void,
  options: WorkerdOptions = {},
): Promise<WorkerdServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env, say, options);
    } catch (error) {
      const taken = /address already in use/i.test((error as Error).message);
      if (!taken || attempt === 3) throw error;
      say(`a port workerd was given was taken meanwhile; starting again (attempt ${attempt + 1})`);
    }
  }
}

async function startOnce(
  env: ServerEnv,
  say: (line: string) => void,
  options: WorkerdOptions,
): Promise<WorkerdServer> {
  const serverEnv = {
    ...process.env,
    ...env,
    REDIS_URL: env.REDIS_URL,
    WORKERD_PERSIST_DIR: options.persistDir,
    WORKERD_BUNDLE_DIR: options.bundleDir,
    WORKERD_ENTRY_MODULE: options.entryModule,
    WORKERD_ASSETS: options.assets ? "1" : undefined,
    WRANGLER_LOG: options.wranglerLog ?? process.env.WRANGLER_LOG,
  };
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    cwd: REPO_ROOT,
    env: Object.fromEntries(
      Object.entries(serverEnv).filter(([, v]) => v !== undefined && v !== ""),
    ) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  let exited = child.exitCode !== null;
  child.once("exit", () => {
    exited = true;
  });
  const stop = async () => {
    if (exited || !child.pid) return;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {}
    }, 10_000);
    await gone;
    clearTimeout(timer);
    // workerd may outlive its parent by a moment; nothing of the group may survive.
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  try {
    const addresses = await new Promise<{
      base: string;
      proxyBase: string;
      helloBase: string;
      upstash?: { url: string; token: string };
    }>((resolveReady, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `workerd did not start within ${START_TIMEOUT_MS / 1000} s; see the [workerd] lines above`,
            ),
          ),
        START_TIMEOUT_MS,
      );
      const onLine = (line: string) => {
        lines.push(line);
        if (line.startsWith("[workerd]")) say(`  ${line}`);
        if (line.startsWith(READY_PREFIX)) {
          const [base, proxyBase, helloBase, upstashUrl, upstashToken] = line
            .slice(READY_PREFIX.length)
            .trim()
            .split(/\s+/) as [string, string, string, string?, string?];
          clearTimeout(timer);
          const upstash =
            upstashUrl && upstashUrl !== "-" && upstashToken
              ? { url: upstashUrl, token: upstashToken }
              : undefined;
          resolveReady({ base, proxyBase, helloBase, ...(upstash ? { upstash } : {}) });
        }
      };
      if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
      if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
      child.once("exit", (code) => {
        clearTimeout(timer);
        const tail = lines.slice(-15).join("\n    ");
        reject(
          new Error(
            `the workerd server exited (code ${code}) before it was ready; its last lines:\n    ${tail}`,
          ),
        );
      });
    });
    const kill = async () => {
      if (exited || !child.pid) return;
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      await gone;
    };
    return { ...addresses, pid: child.pid as number, lines, stop, kill };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ------------------------------------------------------------------------------------------------
// The server process.

/** The production bundle, as `wrangler deploy` would upload it (no dev middleware in it). */
async function bundle(outDir: string, log: (line: string) => void): Promise<string> {
  log("bundling the worker (wrangler deploy --dry-run) …");
  const wrangler = join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");
  const child = spawn(
    process.execPath,
    [
      wrangler,
      "deploy",
      "--dry-run",
      "--outdir",
      outDir,
      "--config",
      join(REPO_ROOT, "wrangler.toml"),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  child.stdout?.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => output.push(d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0)
    throw new Error(
      `wrangler deploy --dry-run failed (exit ${code}); fix the build first:\n${output.join("").slice(-2000)}`,
    );
  return join(outDir, "index.js");
}

async function serve(): Promise<void> {
  const log = (line: string) => console.log(`[workerd] ${line}`);
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  if (!databaseUrl)
    throw new Error(
      "BENCH_DATABASE_URL is not set: bench/lib/workerd.ts is started by bench/read.ts, which sets it",
    );
  const adminKey = process.env.ADMIN_KEY || "bench-admin-key";
  const { startLocalStack } = await import("../../tools/local-stack/index.ts");
  const { getPort } = await import("./ports.ts");
  process.env.WRANGLER_LOG ??= "warn";
  process.env.WRANGLER_SEND_METRICS = "false";
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const miniflare = await import("miniflare");
  const { Miniflare, convertV4MiniflareOptions } = miniflare;
  if (process.env.BENCH_OUTBOUND !== "miniflare")
    fetchStraightToTheNetwork(miniflare.PLUGINS.core, log);

  const ownBundleDir = !process.env.WORKERD_BUNDLE_DIR;
  const outDir =
    process.env.WORKERD_BUNDLE_DIR || mkdtempSync(join(tmpdir(), "edgeboard-bench-bundle-"));
  const persistDir = process.env.WORKERD_PERSIST_DIR || undefined;
  const entryModule = process.env.WORKERD_ENTRY_MODULE || undefined;
  const stack = await startLocalStack({
    databaseUrl,
    redisUrl: process.env.REDIS_URL || undefined,
    log: () => {},
  });
  let mf: InstanceType<typeof Miniflare> | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await mf?.dispose().catch(() => {});
    await stack.stop();
    if (ownBundleDir) rmSync(outDir, { recursive: true, force: true });
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void shutdown(0));

  try {
    const script = existsSync(join(outDir, "index.js"))
      ? join(outDir, "index.js")
      : await bundle(outDir, log);
    const modules = [
      ...(entryModule ? [{ type: "ESModule", path: join(outDir, entryModule) }] : []),
      { type: "ESModule", path: script },
    ];
    const secrets: Record<string, string> = {
      DATABASE_URL: stack.databaseUrl,
      ADMIN_KEY: adminKey,
      PLAYER_TOKEN_SECRET: "bench-player-token-secret-0123456789",
    };
    if (stack.neonWsProxy) secrets.NEON_WS_PROXY = stack.neonWsProxy;
    if (stack.upstash) {
      secrets.UPSTASH_REDIS_REST_URL = stack.upstash.url;
      secrets.UPSTASH_REDIS_REST_TOKEN = stack.upstash.token;
    }
    // wrangler.toml's bindings (vars, Durable Objects, queues with their consumers, crons) as
    // miniflare options: the same translation wrangler dev and the vitest plugin use. `envFiles:
    // []` (accepted, not yet typed): no .dev.vars or .env; the bench decides every value.
    const noEnvFiles = { envFiles: [] } as Parameters<typeof unstable_getMiniflareWorkerOptions>[2];
    const { workerOptions } = unstable_getMiniflareWorkerOptions(
      join(REPO_ROOT, "wrangler.toml"),
      undefined,
      noEnvFiles,
    );
    // Static assets only when asked for (WorkerdOptions.assets): see there.
    if (process.env.WORKERD_ASSETS !== "1") delete (workerOptions as { assets?: unknown }).assets;
    const directPort = await getPort();
    const helloPort = await getPort();
    mf = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port: await getPort(),
        ...(persistDir ? { resourcePersistencePath: persistDir } : {}),
        // /cdn-cgi/local/scheduled on the entry address fires a cron (the fault suite fires the
        // every-minute one as production would; nothing fires it otherwise).
        unsafeTriggerHandlers: true,
        // BENCH_PROFILE=1 (bench/read.ts): an inspector, for V8's CPU profiler.
        ...(process.env.BENCH_INSPECTOR_PORT
          ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) }
          : {}),
        workers: [
          {
            ...workerOptions,
            name: "edgeboard",
            modules,
            modulesRoot: outDir,
            // WORKERD_VARS (JSON): vars a run sets over wrangler.toml's (npm run sim: small relays).
            bindings: {
              ...(workerOptions.bindings as Record<string, unknown>),
              ...(JSON.parse(process.env.WORKERD_VARS ?? "{}") as Record<string, string>),
              ...secrets,
            },
            // The benchmarks and the fault suite drive thousands of requests a second from one
            // address: wrangler.toml's per-PoP budgets would turn them into 429s. They are lifted:
            // each Rate Limiting binding is an RPC to a worker that always allows, because
            // miniflare's simulation (an HTTP call to a Durable Object per request, ~0.3 ms of CPU
            // here) would be measured as the worker's own cost, where the platform answers from the
            // location's memory. The budgets are checked by test/access/rate-limits.test.ts and npm
            // run check:dev-limits.
            ratelimits: undefined,
            serviceBindings: {
              ...(workerOptions.serviceBindings as Record<string, unknown> | undefined),
              ...liftedRateLimits(workerOptions.ratelimits),
            },
            // A socket served by the worker itself, without miniflare's entry worker in between.
            unsafeDirectSockets: [{ host: "127.0.0.1", port: directPort }],
          },
          {
            name: LIFTED_LIMITS,
            compatibilityDate: workerOptions.compatibilityDate,
            modules: [{ type: "ESModule", path: join(WORKERS_DIR, LIFTED_MODULE) }],
            modulesRoot: WORKERS_DIR,
          },
          {
            name: "hello-floor",
            compatibilityDate: workerOptions.compatibilityDate,
            // Its own queue, batched as the score queue is (wrangler.toml): the local broker's
            // cost per message, measured by bench:ingest's floor.
            queueProducers: { FLOOR_EVENTS: { queueName: FLOOR_QUEUE } },
            queueConsumers: { [FLOOR_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 1 } },
            serviceBindings: { LIMIT: { name: LIFTED_LIMITS, entrypoint: "Limiter" } },
            durableObjects: { BUFFER: { className: "Buffer", useSQLite: true } },
            bindings: stack.upstash
              ? { UPSTASH_URL: stack.upstash.url, UPSTASH_TOKEN: stack.upstash.token }
              : {},
            modules: [{ type: "ESModule", path: join(WORKERS_DIR, HELLO_MODULE) }],
            modulesRoot: WORKERS_DIR,
            unsafeDirectSockets: [{ host: "127.0.0.1", port: helloPort }],
          },
        ],
      } as Parameters<typeof convertV4MiniflareOptions>[0]),
    );
    const entry = (await mf.ready).origin;
    const upstash = stack.upstash ? `${stack.upstash.url} ${stack.upstash.token}` : "- -";
    log(
      `${READY_PREFIX.slice("[workerd] ".length)} http://127.0.0.1:${directPort} ${entry} http://127.0.0.1:${helloPort} ${upstash}`,
    );
  } catch (error) {
    log(`could not start the worker: ${(error as Error).message}`);
    await shutdown(1);
  }
}

/**
 * Miniflare routes every outbound `fetch()` of a user worker through an interceptor worker of its
 * own (`outbound:<n>`: it copies the request's headers to strip CF-Connecting-IP, then fetches),
 * a second JS invocation per subrequest that a deployed Worker does not have. On this machine it
 * cost ~0.2 ms of workerd CPU per subrequest, a third of a Redis rank lookup. Unless
 * BENCH_OUTBOUND=miniflare, the user worker's global outbound becomes workerd's "internet"
 * service, as the interceptor's own outbound is. Done by wrapping the core plugin's service list
 * (`PLUGINS` is exported and shared by every Miniflare instance); if miniflare changes shape, this
 * throws instead of silently measuring the interceptor.
 */
function fetchStraightToTheNetwork(
  core: { getServices: (...args: never[]) => unknown },
  log: (line: string) => void,
): void {
  type Service = { name?: string; worker?: { globalOutbound?: { name?: string } } };
  const original = core.getServices.bind(core) as (
    ...args: unknown[]
  ) => Promise<Service[] | { services: Service[] } | undefined>;
  (core as { getServices: unknown }).getServices = async (...args: unknown[]) => {
    const result = await original(...args);
    const services = Array.isArray(result) ? result : (result?.services ?? []);
    const rerouted = services.filter(
      (s) =>
        s.name?.startsWith("core:user:") && s.worker?.globalOutbound?.name?.startsWith("outbound:"),
    );
    if (rerouted.length !== 1) {
      throw new Error(
        "bench: miniflare's outbound interceptor is not where this miniflare version used to put it; " +
          "run with BENCH_OUTBOUND=miniflare (and say so with the figures) or update fetchStraightToTheNetwork in bench/lib/workerd.ts",
      );
    }
    for (const service of rerouted)
      if (service.worker) service.worker.globalOutbound = { name: "internet" };
    return result;
  };
  log(
    "subrequests go straight to the network (not through miniflare's outbound interceptor; BENCH_OUTBOUND=miniflare keeps it)",
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  serve().catch((error: unknown) => {
    console.error(`[workerd] ${(error as Error).message}`);
    process.exit(1);
  });
}

/** wrangler.toml's Rate Limiting bindings, each bound to the always-allowing limiter instead. */
function liftedRateLimits(
  ratelimits: unknown,
): Record<string, { name: string; entrypoint: string }> {
  const names = Object.keys((ratelimits ?? {}) as Record<string, unknown>);
  return Object.fromEntries(
    names.map((name) => [name, { name: LIFTED_LIMITS, entrypoint: "Limiter" }]),
  );
}
