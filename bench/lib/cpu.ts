import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime/stime (getconf CLK_TCK; 100 on Linux). */
const TICKS = 100;

type Proc = { pid: number; ppid: number; comm: string; ticks: number };

function readProcs(): Proc[] {
  const procs: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      // fields[0] is state (stat field 3): ppid is field 4, utime 14, stime 15, and cutime 16 /
      // cstime 17 hold the CPU of children that already exited. Postgres runs one short-lived
      // backend per connection, so without these its work would vanish from the reading.
      const ticks =
        Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      procs.push({ pid: Number(name), ppid: Number(fields[1]), comm, ticks });
    } catch {
      // The process ended while we looked.
    }
  }
  return procs;
}

/**
 * CPU seconds used so far by every server process: the dev runner's whole tree (bridges, PGlite,
 * wrangler, workerd) plus the machine's Postgres and Redis. The load generator is not included.
 * Processes that exit between two readings lose their ticks, so readings bracket a steady run.
 */
export function serverCpuSeconds(rootPid: number): {
  total: number;
  byName: Record<string, number>;
} {
  const procs = readProcs();
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const included = new Map<number, Proc>();
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      included.set(child.pid, child);
      walk(child.pid);
    }
  };
  const root = procs.find((p) => p.pid === rootPid);
  if (root) included.set(root.pid, root);
  walk(rootPid);
  for (const p of procs)
    if (p.comm === "postgres" || p.comm.startsWith("redis-server")) included.set(p.pid, p);
  const byName: Record<string, number> = {};
  let total = 0;
  for (const p of included.values()) {
    const seconds = p.ticks / TICKS;
    const label = p.comm.startsWith("redis")
      ? "redis"
      : p.comm === "postgres"
        ? "postgres"
        : p.comm.includes("workerd")
          ? "workerd"
          : "node";
    byName[label] = (byName[label] ?? 0) + seconds;
    total += seconds;
  }
  return { total, byName };
}

export function cpuDelta(
  before: ReturnType<typeof serverCpuSeconds>,
  after: ReturnType<typeof serverCpuSeconds>,
) {
  const byName: Record<string, number> = {};
  for (const key of new Set([...Object.keys(before.byName), ...Object.keys(after.byName)])) {
    byName[key] = (after.byName[key] ?? 0) - (before.byName[key] ?? 0);
  }
  return { total: after.total - before.total, byName };
}

/**
 * A CPU reading split the way production would bill it: `ours` is workerd (the worker, its Durable
 * Objects, and miniflare's queue broker, which runs inside the same workerd and cannot be told
 * apart by process); `standIns` the Node process beside it running the local Neon WebSocket/HTTP
 * bridge and the Upstash REST stand-in (in production Neon's proxy and Upstash run elsewhere);
 * then the machine's Postgres and Redis.
 */
export interface CpuShares {
  total: number;
  ours: number;
  standIns: number;
  postgres: number;
  redis: number;
}

/** `delta` per unit of work (per event, per read), in milliseconds. */
export function cpuSharesMs(delta: ReturnType<typeof cpuDelta>, units: number): CpuShares {
  const ms = (seconds: number) => (seconds * 1000) / Math.max(1, units);
  return {
    total: ms(delta.total),
    ours: ms(delta.byName.workerd ?? 0),
    standIns: ms(delta.byName.node ?? 0),
    postgres: ms(delta.byName.postgres ?? 0),
    redis: ms(delta.byName.redis ?? 0),
  };
}

/** "0.812 ms = ours (workerd) 0.501 + local stand-ins 0.080 + Postgres 0.221 + Redis 0.010". */
export function formatShares(s: CpuShares): string {
  const f = (n: number) => n.toFixed(3);
  return (
    `${f(s.total)} ms = ours (workerd) ${f(s.ours)} + local stand-ins (Node bridges) ${f(s.standIns)}` +
    ` + Postgres ${f(s.postgres)} + Redis ${f(s.redis)}`
  );
}
