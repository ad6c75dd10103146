import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseEnv, stripVTControlCharacters } from "node:util";
import { type LocalStack, startLocalStack } from "./local-stack/index.ts";
import { runMigrations } from "./migrate.ts";

// `npm run dev`: the local stack (Postgres or embedded PGlite behind the Neon bridge, Redis behind
// the Upstash bridge), migrations, then `wrangler dev` wired to them; one Ctrl-C stops everything.

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(REPO_ROOT, "node_modules", ".bin", "wrangler");
const DEFAULT_ADMIN_KEY = "dev-admin-key";
const DEV_TOKEN_SECRET = "dev-player-token-secret-not-for-production";
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;

const log = (line: string): void => console.log(`[dev] ${line}`);

/**
 * Settings from the environment, falling back to .dev.vars (which wrangler also reads), so a
 * DATABASE_URL or REDIS_URL written there is honoured rather than silently overridden.
 */
function readSettings(): {
  port: number;
  databaseUrl?: string;
  redisUrl?: string;
  adminKeyFromEnv?: string;
  devVars: NodeJS.Dict<string>;
} {
  const devVarsPath = join(REPO_ROOT, ".dev.vars");
  const devVars = existsSync(devVarsPath) ? parseEnv(readFileSync(devVarsPath, "utf8")) : {};
  const pick = (name: string): string | undefined =>
    process.env[name] || devVars[name] || undefined;
  const port = Number(process.env.PORT || 8787);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(
      `PORT=${process.env.PORT} is not a port number: set PORT to 1-65535 or unset it (default 8787)`,
    );
  }
  return {
    port,
    databaseUrl: pick("DATABASE_URL"),
    redisUrl: pick("REDIS_URL"),
    adminKeyFromEnv: process.env.ADMIN_KEY || undefined,
    devVars,
  };
}

async function assertPortFree(port: number): Promise<void> {
  // Otherwise wrangler picks another port and the health check below would probe a stranger.
  await new Promise<void>((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `port ${port} is ${err.code === "EADDRINUSE" ? "in use" : `unavailable (${err.code})`}: stop whatever uses it (another npm run dev?) or set PORT`,
        ),
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolvePort()));
  });
}

/**
 * The worker's variables for this run: the stack's addresses, plus ADMIN_KEY when it comes from us.
 */
function workerVars(
  stack: LocalStack,
  settings: ReturnType<typeof readSettings>,
): Record<string, string> {
  const vars: Record<string, string> = { DATABASE_URL: stack.databaseUrl };
  if (stack.neonWsProxy) vars.NEON_WS_PROXY = stack.neonWsProxy;
  if (stack.upstash) {
    vars.UPSTASH_REDIS_REST_URL = stack.upstash.url;
    vars.UPSTASH_REDIS_REST_TOKEN = stack.upstash.token;
  }
  if (settings.adminKeyFromEnv) {
    vars.ADMIN_KEY = settings.adminKeyFromEnv;
  } else if (!settings.devVars.ADMIN_KEY) {
    vars.ADMIN_KEY = DEFAULT_ADMIN_KEY;
    log(
      `ADMIN_KEY is not set (environment or .dev.vars): admin routes take "Authorization: Bearer ${DEFAULT_ADMIN_KEY}"`,
    );
  }
  // Player tokens need a signing secret; a fixed one locally, so tokens survive a restart.
  if (!process.env.PLAYER_TOKEN_SECRET && !settings.devVars.PLAYER_TOKEN_SECRET)
    vars.PLAYER_TOKEN_SECRET = DEV_TOKEN_SECRET;
  return vars;
}

function wranglerArgs(port: number, vars: Record<string, string>): string[] {
  return [
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    // Crons fire by hand: curl "http://127.0.0.1:PORT/__scheduled?cron=*+*+*+*+*"
    "--test-scheduled",
    // Wrangler runs in its own process group (so Ctrl-C reaches us first and we stop it cleanly);
    // a background group must not read the terminal, so no hotkeys.
    "--show-interactive-dev-session=false",
    // wrangler 4 parses --var as KEY:VALUE, splitting at the first colon only.
    ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return true; // any HTTP answer: the worker is loaded
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `wrangler did not answer ${url} within ${READY_TIMEOUT_MS / 1000} s: check its output above`,
  );
}

async function main(): Promise<void> {
  const settings = readSettings();
  await assertPortFree(settings.port);

  let stack: LocalStack | undefined;
  let child: ChildProcess | undefined;
  let stopping: Promise<never> | undefined;
  let signals = 0;
  // Idempotent: the first caller decides the exit code, later callers wait for the same end.
  const shutdown = (code: number, reason: string): Promise<never> => {
    stopping ??= (async () => {
      log(`${reason}: stopping…`);
      if (child?.pid) {
        if (child.exitCode === null && child.signalCode === null) await stopChild(child);
        else killGroup(child.pid, "SIGKILL"); // wrangler is gone; workerd must not outlive it
      }
      await stack?.stop();
      log("stopped");
      process.exit(code);
    })();
    return stopping;
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (++signals > 1) {
        // Second Ctrl-C: stop waiting.
        if (child?.pid) killGroup(child.pid, "SIGKILL");
        process.exit(1);
      }
      // During startup, finish the step in flight first so nothing it started is left behind.
      if (stack) void shutdown(0, signal);
      else log(`${signal}: stopping once the current step is done…`);
    });
  }

  const upstashFromDevVars = !settings.redisUrl && Boolean(settings.devVars.UPSTASH_REDIS_REST_URL);
  stack = await startLocalStack({
    databaseUrl: settings.databaseUrl,
    // Benchmarks point this at a scratch folder so they never touch the dev database.
    pgliteDataDir: process.env.PGLITE_DATA_DIR || undefined,
    redisUrl: settings.redisUrl,
    log: (line) => {
      if (upstashFromDevVars && line.startsWith("no REDIS_URL")) {
        log("no REDIS_URL: the worker uses UPSTASH_REDIS_REST_URL from .dev.vars");
      } else {
        log(line);
      }
    },
  });
  if (signals > 0) return shutdown(0, "interrupted");

  try {
    await runMigrations({ databaseUrl: stack.databaseUrl, neonWsProxy: stack.neonWsProxy, log });
  } catch (err) {
    if (stopping) return stopping; // interrupted: the error is only the stack going away
    log((err as Error).message);
    return shutdown(1, "migrations failed");
  }

  if (signals > 0) return shutdown(0, "interrupted");

  const base = `http://127.0.0.1:${settings.port}`;
  log(`starting wrangler dev on ${base} …`);
  const vars = workerVars(stack, settings);
  // Run the .bin script with this Node: its `#!/usr/bin/env node` would pick whatever node is first
  // on PATH (the system one may be too old for wrangler when dev.ts is started outside npm run).
  child = spawn(process.execPath, [WRANGLER, ...wranglerArgs(settings.port, vars)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    // The same values in the environment too: without a .dev.vars, wrangler checks the required
    // secrets (wrangler.toml [secrets]) against the environment and would warn they are missing.
    env: {
      ...process.env,
      ...vars,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
    },
  });
  if (child.stdout) quietWrangler(child.stdout, process.stdout);
  if (child.stderr) quietWrangler(child.stderr, process.stderr);
  child.once("error", (err) => {
    log(`could not start ${WRANGLER} (${err.message}): run npm install`);
    void shutdown(1, "wrangler failed to start");
  });
  child.once("exit", (code, signal) => {
    void shutdown(code ?? (signal ? 1 : 0), `wrangler exited (${signal ?? `code ${code}`})`);
  });

  try {
    if (await waitUntilAnswering(`${base}/health`, child)) {
      log(`ready: ${base}  (health: /health/ready)`);
      if (stack.upstash || upstashFromDevVars) tickEveryMinute(base);
    }
  } catch (err) {
    log((err as Error).message);
    await shutdown(1, "wrangler not ready");
  }
}

/**
 * Passes wrangler's output on without what buries the ready line: the table of every binding
 * (printed again on each reload; wrangler.toml lists them) and, offline, the stack trace of its
 * failed fetch of the `Request.cf` placeholder data (harmless: it falls back to defaults).
 */
function quietWrangler(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): void {
  let skippingStack = false;
  createInterface({ input: from }).on("line", (line) => {
    const bare = stripVTControlCharacters(line);
    if (skippingStack && /^\s+at /.test(bare)) return;
    skippingStack = false;
    if (/Unable to fetch the `Request\.cf` object/.test(bare)) return;
    if (/^Error: getaddrinfo \S+ workers\.cloudflare\.com/.test(bare)) {
      skippingStack = true;
      return;
    }
    if (
      /^Your Worker has access to the following bindings:|^Binding\s+Resource|^env\.\S+/.test(bare)
    )
      return;
    to.write(`${line}\n`);
  });
}

/**
 * wrangler dev fires crons only by hand. The every-minute one loads new board-periods into Redis
 * (until it runs, ranks beyond the top-N come from Postgres), so the dev runner fires it once a
 * minute as production would, starting now. The others stay manual.
 */
function tickEveryMinute(base: string): void {
  const url = `${base}/__scheduled?cron=${encodeURIComponent("* * * * *")}`;
  let failing = false;
  const fire = () =>
    fetch(url, { signal: AbortSignal.timeout(55_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        if (failing) log("the every-minute cron runs again");
        failing = false;
      })
      .catch((err: unknown) => {
        if (!failing)
          log(
            `the every-minute cron (Redis reconciliation) failed (${(err as Error).message}); see the worker's log above`,
          );
        failing = true;
      });
  log(
    `firing the every-minute cron once a minute (Redis reconciliation); others by hand: curl "${base}/__scheduled?cron=5+*+*+*+*"`,
  );
  void fire();
  setInterval(fire, 60_000).unref();
}

// The whole group: wrangler plus the workerd it spawned.
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  const pid = child.pid as number;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  killGroup(pid, "SIGTERM");
  const timer = setTimeout(() => killGroup(pid, "SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  // workerd may outlive wrangler by a moment; make sure nothing of the group survives.
  killGroup(pid, "SIGKILL");
}

main().catch((err: unknown) => {
  console.error(`[dev] ${(err as Error).message}`);
  process.exit(1);
});
