import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startWorkerdServer, type WorkerdServer } from "../../../bench/lib/workerd.ts";
import { onCleanup } from "./cleanup.ts";

/**
 * The main module the suite serves instead of the bundle: the production bundle unchanged
 * (every request, queue batch and cron goes to it), plus one fault-injection route the runtime
 * gives us no other handle on. `POST /__faults/reset-object?name=` calls `ctx.abort()` inside the
 * named LeaderboardDO: workerd discards the object as it does when it evicts or restarts one
 * (in-flight calls fail, memory is gone, the next call constructs it again from its storage).
 */
const FAULT_SHIM_MODULE = "fault-shim.js";
const FAULT_SHIM_SOURCE = `import worker, { LeaderboardDO as Base } from "./index.js";
export class LeaderboardDO extends Base {
  faultReset(reason) {
    this.ctx.abort(reason);
  }
}
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== "/__faults/reset-object") return worker.fetch(request, env, ctx);
    try {
      await env.LEADERBOARD.getByName(url.searchParams.get("name")).faultReset("fault suite: object reset");
      return Response.json({ reset: false, error: "the object did not abort" }, { status: 500 });
    } catch (error) {
      return Response.json({ reset: true, error: String(error) });
    }
  },
  queue: (batch, env, ctx) => worker.queue(batch, env, ctx),
  scheduled: (controller, env, ctx) => worker.scheduled(controller, env, ctx),
};
`;

export interface Worker {
  /** The worker's own socket (no wrangler proxy): every request of the cases goes here. */
  base: string;
  /** miniflare's entry worker: only for /cdn-cgi/local/scheduled (crons). */
  entryBase: string;
  /** A clean stop. */
  stop(): Promise<void>;
  /** SIGKILL to workerd and the bridges at once, as a crashed machine would. */
  kill(): Promise<void>;
  /** Starts it again on the same persistence directory and bundle (new ports). */
  restart(): Promise<void>;
  fireCron(cron: string): Promise<void>;
  /** The worker's output so far, for failure messages. */
  logFile: string;
  /** miniflare's persistence root (Durable Object storage). */
  stateDir: string;
}

export interface WorkerConfig {
  databaseUrl: string;
  redisUrl: string;
  adminKey: string;
  /** Holds the bundle, the shim and Durable Object storage. */
  dir: string;
  /** The worker's output goes here (kept after a failed run). */
  logFile: string;
  say: (line: string) => void;
}

/**
 * The production bundle served by workerd in miniflare with wrangler.toml's bindings (real Durable
 * Objects, Queues with consumers, Cache, crons), through bench/lib/workerd.ts, with Durable Object
 * storage persisted to a directory so a restarted server finds it, and the local Neon proxy and
 * Upstash bridge (started by that server) pointed at the suite's private Postgres and Redis.
 */
export async function startWorker(config: WorkerConfig): Promise<Worker> {
  const bundleDir = join(config.dir, "bundle");
  const persistDir = join(config.dir, "state");
  const logFile = config.logFile;
  mkdirSync(bundleDir, { recursive: true });
  mkdirSync(persistDir, { recursive: true });
  writeFileSync(join(bundleDir, FAULT_SHIM_MODULE), FAULT_SHIM_SOURCE);
  writeFileSync(logFile, "");

  let server: WorkerdServer | undefined;
  let forget: () => void = () => {};
  let starts = 0;
  const launch = async () => {
    starts += 1;
    appendFileSync(logFile, `\n===== worker start #${starts} at ${new Date().toISOString()}\n`);
    const started = await startWorkerdServer(
      {
        BENCH_DATABASE_URL: config.databaseUrl,
        REDIS_URL: config.redisUrl,
        ADMIN_KEY: config.adminKey,
      },
      (line) => appendFileSync(logFile, `${line}\n`),
      { persistDir, bundleDir, entryModule: FAULT_SHIM_MODULE, wranglerLog: "log" },
    );
    // Everything the server printed goes to the log file as it comes (console output of the
    // worker: consumer batches, warnings, errors).
    let flushed = 0;
    const flush = () => {
      if (started.lines.length > flushed) {
        appendFileSync(logFile, `${started.lines.slice(flushed).join("\n")}\n`);
        flushed = started.lines.length;
      }
    };
    const timer = setInterval(flush, 500);
    timer.unref();
    const pid = started.pid;
    forget = onCleanup(`worker process group ${pid}`, () => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    });
    const stopWith = (how: () => Promise<void>) => async () => {
      await how();
      clearInterval(timer);
      flush();
      forget();
    };
    server = { ...started, stop: stopWith(started.stop), kill: stopWith(started.kill) };
    worker.base = started.base;
    worker.entryBase = started.proxyBase;
  };

  const worker: Worker = {
    base: "",
    entryBase: "",
    logFile,
    stateDir: persistDir,
    stop: async () => {
      await server?.stop();
    },
    kill: async () => {
      await server?.kill();
    },
    restart: async () => {
      await server?.stop();
      await launch();
    },
    fireCron: async (cron: string) => {
      const res = await fetch(
        `${worker.entryBase}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(cron)}`,
      );
      const text = await res.text();
      if (!res.ok)
        throw new Error(
          `firing cron "${cron}" answered ${res.status}: ${text.slice(0, 300)}; see ${logFile}`,
        );
    },
  };
  await launch();
  return worker;
}
