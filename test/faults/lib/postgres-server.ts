import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPort } from "../../../bench/lib/ports.ts";
import { onCleanup } from "./cleanup.ts";

const BIN = "/usr/lib/postgresql/15/bin";

/**
 * A Postgres 15 of the suite's own: a data directory in a temp dir, a private port, run as the
 * `postgres` OS user (we are root; Postgres refuses to run as root). The machine's shared server
 * on 5432 is never touched. `stop` is the outage (pg_ctl stop -m fast or immediate), `start` the
 * recovery; `destroy` removes it all.
 */
export interface PostgresServer {
  port: number;
  /** The superuser URL of the `postgres` database (trust authentication). */
  adminUrl: string;
  stop(mode: "fast" | "immediate"): void;
  start(): void;
  isRunning(): boolean;
  destroy(): void;
}

function startPostgresServer(port: number): PostgresServer {
  const root = mkdtempSync(join(tmpdir(), "edgeboard-faults-pg-"));
  const data = join(root, "data");
  const logFile = join(root, "postgres.log");
  const { uid, gid } = postgresUser();
  chownSync(root, uid, gid);

  const asPostgres = (command: string, what: string) => {
    const result = spawnSync("su", ["postgres", "-s", "/bin/sh", "-c", command], {
      encoding: "utf8",
      timeout: 120_000,
    });
    if (result.status !== 0) {
      throw new Error(
        `${what} failed (exit ${result.status}): ${(result.stderr || result.stdout).trim().slice(-800)}; see ${logFile} if it exists`,
      );
    }
    return result.stdout;
  };
  const pgCtl = (args: string) => `${BIN}/pg_ctl -D ${data} ${args}`;

  asPostgres(
    `${BIN}/initdb -D ${data} -A trust -U postgres -E UTF8 --no-sync >/dev/null`,
    "initdb of the suite's private Postgres",
  );
  // fsync off: the outages here kill processes, never the machine, so the OS still holds every
  // write; it keeps initdb, migrations and the runs fast on a shared 2-core machine.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off -c max_connections=200`;
  const start = () =>
    asPostgres(
      `${pgCtl(`-o '${options}' -l ${logFile} -w -t 60 start`)} >/dev/null`,
      `starting Postgres on port ${port}`,
    );
  const running = () =>
    spawnSync("su", ["postgres", "-s", "/bin/sh", "-c", pgCtl("status")], { encoding: "utf8" })
      .status === 0;
  const kill = () => {
    if (running())
      spawnSync("su", ["postgres", "-s", "/bin/sh", "-c", pgCtl("-m immediate -w stop")], {
        encoding: "utf8",
      });
  };
  const destroy = () => {
    kill();
    rmSync(root, { recursive: true, force: true });
  };
  const forget = onCleanup(`postgres on port ${port}`, destroy);
  try {
    start();
  } catch (error) {
    forget();
    destroy();
    throw error;
  }
  return {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: (mode) =>
      asPostgres(
        `${pgCtl(`-m ${mode} -w -t 60 stop`)} >/dev/null`,
        `stopping Postgres (-m ${mode})`,
      ),
    start,
    isRunning: running,
    destroy: () => {
      forget();
      destroy();
    },
  };
}

export async function startPrivatePostgres(): Promise<PostgresServer> {
  return startPostgresServer(await getPort());
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
  const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) {
    throw new Error(
      "no `postgres` OS user: the fault suite runs its private Postgres as that user (install postgresql-15)",
    );
  }
  return { uid, gid };
}
