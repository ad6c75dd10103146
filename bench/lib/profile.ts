// Where workerd's CPU goes during a benchmark case: V8's sampling profiler through workerd's
// inspector (BENCH_PROFILE=1 starts workerd with one), on every worker it runs: ours, and the
// local simulations miniflare runs beside it in the same process (the queue broker, the cache,
// the outbound interceptor, the benchmarks' lifted rate limiter). /proc cannot tell those apart;
// the profiles can, which is how the benchmarks report our share apart from the stand-ins'.
// For finding what to optimise and for shares, not a figure to compare on its own: sampling adds
// its own overhead.

import { writeFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds since the previous sample, per sample. */
  timeDeltas: number[];
}

/** Our worker's inspector target; every other target is a local simulation or stand-in. */
const OURS = "core:user:edgeboard";

/** What each inspector target is, for the report ("ours" or what it stands in for). */
function targetGroup(id: string): string {
  if (id === OURS) return "ours";
  if (id.startsWith("queues:")) return "local queue broker";
  if (id.startsWith("cache:")) return "local cache";
  if (id.startsWith("outbound:")) return "outbound interceptor";
  if (id === "core:user:lifted-limits") return "local rate limiter";
  return `other (${id})`;
}

interface Session {
  id: string;
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

async function connect(id: string, url: string): Promise<Session> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`could not connect to ${url}`)), {
      once: true,
    });
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const callId = nextId++;
      pending.set(callId, resolve);
      ws.send(JSON.stringify({ id: callId, method, params }));
    });
  return { id, call, close: () => ws.close() };
}

/** A CPU profile on every inspector target of workerd, started and stopped together. */
export async function openProfilers(inspectorPort: number): Promise<{
  start(): Promise<void>;
  stop(): Promise<Map<string, Profile>>;
  close(): void;
}> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{
    id: string;
    webSocketDebuggerUrl: string;
  }>;
  if (targets.length === 0) throw new Error(`no inspector target on port ${inspectorPort}`);
  const sessions = await Promise.all(targets.map((t) => connect(t.id, t.webSocketDebuggerUrl)));
  for (const s of sessions) {
    await s.call("Profiler.enable");
    await s.call("Profiler.setSamplingInterval", { interval: 100 });
  }
  return {
    start: async () => {
      await Promise.all(sessions.map((s) => s.call("Profiler.start")));
    },
    stop: async () => {
      const profiles = await Promise.all(
        sessions.map(async (s) => {
          const { profile } = (await s.call("Profiler.stop")) as { profile: Profile };
          return [s.id, profile] as const;
        }),
      );
      return new Map(profiles);
    },
    close: () => {
      for (const s of sessions) s.close();
    },
  };
}

const IDLE = new Set(["(idle)", "(program)"]);

/** Milliseconds of JavaScript (and its GC) sampled on a profile, idle time left out. */
function busyMs(profile: Profile): number {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let micros = 0;
  profile.samples.forEach((id, i) => {
    const name = byId.get(id)?.callFrame.functionName ?? "";
    if (!IDLE.has(name)) micros += profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
  });
  return micros / 1000;
}

/**
 * JavaScript time per group of targets ("ours", "local queue broker", …), in ms: the shares by
 * which a workerd CPU figure is split between our worker and the local simulations.
 */
function busyByGroup(profiles: Map<string, Profile>): Map<string, number> {
  const groups = new Map<string, number>();
  for (const [id, profile] of profiles) {
    const ms = busyMs(profile);
    if (ms > 0) groups.set(targetGroup(id), (groups.get(targetGroup(id)) ?? 0) + ms);
  }
  return groups;
}

/** "ours 71% · local queue broker 24% · …": the busy shares, largest first. */
function formatGroups(groups: Map<string, number>): string {
  const total = [...groups.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return "no JavaScript sampled";
  return [...groups]
    .sort((a, b) => b[1] - a[1])
    .map(([group, ms]) => `${group} ${((ms / total) * 100).toFixed(0)}%`)
    .join(" · ");
}

/** The functions with the most self time in one profile, as "share  name (file:line)" lines. */
function topSelfTime(profile: Profile, count = 20): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || "(anonymous)"} (${url.split("/").pop() || "native"}:${lineNumber + 1})`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, n]) => `${((n / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
}

/**
 * Prints the busy shares by worker and our worker's functions by self time, and writes our
 * worker's profile to `file` when one is given (for Chrome DevTools).
 */
export function reportProfiles(
  profiles: Map<string, Profile>,
  say: (line: string) => void,
  options: { indent: string; functions: number; file?: string | undefined },
): void {
  const { indent, functions, file } = options;
  say(`${indent}workerd's JavaScript by worker: ${formatGroups(busyByGroup(profiles))}`);
  say(
    `${indent}our worker's self time by function (sampling profiler; its overhead is in the CPU figure):`,
  );
  const ours = profiles.get(OURS);
  for (const line of ours ? topSelfTime(ours, functions) : []) say(`${indent}  ${line}`);
  if (ours && file) {
    writeFileSync(file, JSON.stringify(ours));
    say(`${indent}our worker's profile: ${file} (open it in Chrome DevTools)`);
  }
}
