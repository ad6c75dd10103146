// The worker served by workerd itself, for read benchmarks: `wrangler dev` puts its ProxyWorker
// (one Durable Object every request passes through, in a second workerd) in front of the user
// worker; on our 2-core machine that halves a hello-world's throughput and triples its CPU, so
// read figures through it would mostly measure the proxy. (Miniflare's own entry worker, inside
// the same workerd as the user worker, is still in the path.) This file is both the launcher (`startWorkerdServer`, used by
// bench/read.ts) and, run as a script, the server process it launches:
//
//   node bench/lib/workerd.ts   env: BENCH_DATABASE_URL (required), REDIS_URL (optional), ADMIN_KEY
//
// The server process starts the local stack (Neon WebSocket bridge, Upstash bridge), then the
// worker through wrangler's own dev machinery (`unstable_DevEnv`: the same bundling, bindings,
// Durable Objects, queues and cache as `wrangler dev`, state in memory), and prints the address
// of workerd's own socket, which the benchmark calls directly. One process group, so its CPU
// (this Node: bridges and wrangler's idle controllers; workerd) is measured apart from the load.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const READY_PREFIX = "[workerd] ready:";
const START_TIMEOUT_MS = 120_000;

export interface WorkerdServer {
  /** workerd's own socket (the user worker, no wrangler proxy in between). */
  base: string;
  /** wrangler's proxy in front of the same worker (not used for measurements). */
  proxyBase: string;
  pid: number;
  /** Every line the server printed. */
  lines: string[];
  stop(): Promise<void>;
}

/** Starts this file as a separate process group and waits for workerd's address. */
export async function startWorkerdServer(
  env: { BENCH_DATABASE_URL: string; REDIS_URL?: string | undefined; ADMIN_KEY: string },
  say: (line: string) => void,
): Promise<WorkerdServer> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    cwd: REPO_ROOT,
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...env, REDIS_URL: env.REDIS_URL }).filter(([, v]) => v !== undefined && v !== ""),
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
    const addresses = await new Promise<{ base: string; proxyBase: string }>((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`workerd did not start within ${START_TIMEOUT_MS / 1000} s; see the [workerd] lines above`)),
        START_TIMEOUT_MS,
      );
      const onLine = (line: string) => {
        lines.push(line);
        if (line.startsWith("[workerd]")) say(`  ${line}`);
        if (line.startsWith(READY_PREFIX)) {
          const [base, proxyBase] = line.slice(READY_PREFIX.length).trim().split(/\s+/) as [string, string];
          clearTimeout(timer);
          resolveReady({ base, proxyBase });
        }
      };
      if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
      if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
      child.once("exit", (code) => {
        clearTimeout(timer);
        const tail = lines.slice(-15).join("\n    ");
        reject(new Error(`the workerd server exited (code ${code}) before it was ready; its last lines:\n    ${tail}`));
      });
    });
    return { ...addresses, pid: child.pid as number, lines, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ------------------------------------------------------------------------------------------------
// The server process.

async function serve(): Promise<void> {
  const log = (line: string) => console.log(`[workerd] ${line}`);
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  if (!databaseUrl) throw new Error("BENCH_DATABASE_URL is not set: bench/lib/workerd.ts is started by bench/read.ts, which sets it");
  const adminKey = process.env.ADMIN_KEY || "bench-admin-key";
  const { startLocalStack } = await import("../../tools/local-stack/index.ts");
  const { getPort } = await import("./ports.ts");
  // Keep wrangler's own chatter (banner, binding table) out of the bench output.
  process.env.WRANGLER_LOG ??= "warn";
  process.env.WRANGLER_SEND_METRICS = "false";
  const { unstable_DevEnv } = await import("wrangler");

  const stack = await startLocalStack({ databaseUrl, redisUrl: process.env.REDIS_URL || undefined, log: () => {} });
  let devEnv: InstanceType<typeof unstable_DevEnv> | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await devEnv?.teardown().catch(() => {});
    await stack.stop();
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void shutdown(0));

  try {
    const vars: Record<string, string> = { DATABASE_URL: stack.databaseUrl, ADMIN_KEY: adminKey };
    if (stack.neonWsProxy) vars.NEON_WS_PROXY = stack.neonWsProxy;
    if (stack.upstash) {
      vars.UPSTASH_REDIS_REST_URL = stack.upstash.url;
      vars.UPSTASH_REDIS_REST_TOKEN = stack.upstash.token;
    }
    devEnv = new unstable_DevEnv();
    const direct = new Promise<string>((resolveUrl) => {
      devEnv?.on("reloadComplete", (event: { proxyData: { userWorkerUrl: { protocol: string; hostname: string; port: string } } }) => {
        const u = event.proxyData.userWorkerUrl;
        resolveUrl(`${u.protocol}//${u.hostname}:${u.port}`);
      });
    });
    const worker = await devEnv.startWorker({
      config: join(REPO_ROOT, "wrangler.toml"),
      // No .dev.vars: the bench decides every value.
      envFiles: [],
      bindings: Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: "secret_text", value }])),
      dev: {
        server: { hostname: "127.0.0.1", port: await getPort() },
        inspector: false,
        watch: false,
        liveReload: false,
        // Durable Object, cache and queue state in memory: nothing left in .wrangler/state.
        persist: false,
      },
    } as Parameters<typeof devEnv.startWorker>[0]);
    await worker.ready;
    const proxy = (await worker.url).origin;
    log(`${READY_PREFIX.slice("[workerd] ".length)} ${await direct} ${proxy}`);
  } catch (error) {
    log(`could not start the worker: ${(error as Error).message}`);
    await shutdown(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  serve().catch((error: unknown) => {
    console.error(`[workerd] ${(error as Error).message}`);
    process.exit(1);
  });
}
