/**
 * Everything the fault suite starts (a Postgres, Redis servers, the worker's process group) is
 * registered here with a synchronous kill, so it is gone however the run ends: normally, on a
 * failed case, on an uncaught error or on Ctrl-C. Synchronous on purpose: `process.on("exit")`
 * cannot wait for promises, and a kill that needs the event loop is one that may never run.
 */
const kills = new Map<string, () => void>();
let installed = false;

export function onCleanup(name: string, kill: () => void): () => void {
  kills.set(name, kill);
  install();
  return () => {
    kills.delete(name);
  };
}

/** Kills everything still registered, newest first; safe to call more than once. */
export function cleanupAll(): void {
  for (const [name, kill] of [...kills].reverse()) {
    kills.delete(name);
    try {
      kill();
    } catch (error) {
      console.error(`[faults] cleanup of ${name} failed: ${(error as Error).message}`);
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", cleanupAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      console.error(`[faults] ${signal}: stopping everything the suite started`);
      cleanupAll();
      process.exit(130);
    });
  }
}
