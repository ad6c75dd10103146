// Where workerd's CPU goes during a benchmark case: V8's sampling profiler through the worker's
// inspector (BENCH_PROFILE=1 starts workerd with one), summed by function. For finding what to
// optimise, not a figure to compare: sampling adds its own overhead.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Connects to the first inspector target and returns start/stop for one CPU profile. */
export async function openProfiler(
  inspectorPort: number,
): Promise<{ start(): Promise<void>; stop(): Promise<Profile>; close(): void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{
    webSocketDebuggerUrl: string;
    title?: string;
  }>;
  const target = targets.find((t) => t.title?.includes("edgeboard")) ?? targets[0];
  if (!target) throw new Error(`no inspector target on port ${inspectorPort}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener(
      "error",
      () => reject(new Error(`could not connect to ${target.webSocketDebuggerUrl}`)),
      { once: true },
    );
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  return {
    start: async () => {
      await call("Profiler.start");
    },
    stop: async () => ((await call("Profiler.stop")) as { profile: Profile }).profile,
    close: () => ws.close(),
  };
}

/** The functions with the most self time, as "share  name (file:line)" lines. */
export function topSelfTime(profile: Profile, count = 20): string[] {
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
