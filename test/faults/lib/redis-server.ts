import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis as RedisClient } from "ioredis";
import { getPort } from "../../../bench/lib/ports.ts";
import { onCleanup } from "./cleanup.ts";

// ioredis is CommonJS whose module.exports is the class (see tools/local-stack/upstash-bridge.ts).
const Redis = createRequire(import.meta.url)("ioredis") as typeof RedisClient;

/**
 * A redis-server of the suite's own (private port, temp dir; no automatic snapshots, no AOF), that
 * a case can kill with SIGKILL and start again on the same port: empty, or from an RDB snapshot
 * taken earlier (`snapshot`), i.e. with an old dataset. The machine's Redis on 6379 is never
 * touched.
 */
export interface RedisServer {
  port: number;
  url: string;
  /** SAVE, then a copy of the RDB file; returns its path. */
  snapshot(): Promise<string>;
  /** SIGKILL: nothing is saved, as in a crash. */
  kill(): Promise<void>;
  /** Starts again on the same port, empty or loading `fromRdb`. */
  restart(fromRdb?: string): Promise<void>;
  /** Runs one command on a short-lived connection. */
  command(...args: string[]): Promise<unknown>;
  destroy(): void;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await getPort();
  const dir = mkdtempSync(join(tmpdir(), "edgeboard-faults-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let snapshots = 0;

  const launch = async () => {
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--dbfilename",
        "dump.rdb",
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        join(dir, "redis.log"),
      ],
      { stdio: "ignore", detached: true },
    );
    child = proc;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null)
        throw new Error(
          `redis-server on port ${port} exited (${proc.exitCode}) at start; see ${join(dir, "redis.log")}`,
        );
      const pong = await command("PING").catch(() => null);
      if (pong === "PONG") return;
      if (Date.now() > deadline)
        throw new Error(
          `redis-server on port ${port} did not answer PING within 15 s; see ${join(dir, "redis.log")}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const killNow = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {}
    }
  };
  const kill = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once("exit", () => r()));
    killNow();
    await gone;
  };
  async function command(...args: string[]): Promise<unknown> {
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 2_000,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      return await client.call(args[0] as string, ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }
  const destroy = () => {
    killNow();
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = onCleanup(`redis on port ${port}`, destroy);
  await launch();

  return {
    port,
    url,
    async snapshot() {
      await command("SAVE");
      const target = join(dir, `snapshot-${++snapshots}.rdb`);
      copyFileSync(join(dir, "dump.rdb"), target);
      return target;
    },
    kill,
    async restart(fromRdb?: string) {
      await kill();
      const dump = join(dir, "dump.rdb");
      rmSync(dump, { force: true });
      if (fromRdb) {
        if (!existsSync(fromRdb) || statSync(fromRdb).size === 0)
          throw new Error(`no RDB snapshot at ${fromRdb}`);
        copyFileSync(fromRdb, dump);
      }
      await launch();
    },
    command,
    destroy: () => {
      forget();
      destroy();
    },
  };
}
