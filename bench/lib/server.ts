import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface DevServer {
  base: string;
  pid: number;
  /** Every line the server printed, for figures the worker logs (e.g. consumer batch times). */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * Starts `npm run dev`'s runner (tools/dev.ts: local stack + migrations + wrangler dev) as a
 * separate process group, so its CPU can be measured apart from the load generator's.
 */
export async function startDevServer(
  env: Record<string, string | undefined>,
  port: number,
  say: (line: string) => void,
): Promise<DevServer> {
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, "tools/dev.ts")], {
    cwd: REPO_ROOT,
    // Unset entries must be left out: spawn would pass the string "undefined".
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...env, PORT: String(port) }).filter(
        ([, v]) => v !== undefined,
      ),
    ) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  const base = `http://127.0.0.1:${port}`;
  const ready = new Promise<void>((resolveReady, reject) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (line.startsWith("[dev]")) say(`  ${line}`);
      if (line.includes("[dev] ready:")) resolveReady();
    };
    if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
    child.once("exit", (code) =>
      reject(
        new Error(
          `the dev server exited (code ${code}) before it was ready; see the [dev] lines above`,
        ),
      ),
    );
  });
  await ready;
  const pid = child.pid as number;
  return {
    base,
    pid,
    lines,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      process.kill(-pid, "SIGINT");
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {}
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
