import { neonConfig, Pool } from "@neondatabase/serverless";
import ws from "ws";

/**
 * Makes the Neon serverless driver usable from Node-side tools (migrations, vitest global setup,
 * benchmarks), so they exercise the same driver and wire path as production rather than `pg`.
 * With a proxy ("127.0.0.1:PORT/v1" from the local stack) it tunnels through the local bridge in
 * plain text; without one it talks to Neon's own proxy (a real *.neon.tech DATABASE_URL).
 */
export function configureNeonForNode(neonWsProxy?: string): void {
  neonConfig.webSocketConstructor = ws;
  if (neonWsProxy) {
    neonConfig.wsProxy = (host: string, port: number | string) =>
      `${neonWsProxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    // Pipelining the startup assumes password auth; local servers use trust auth.
    neonConfig.pipelineConnect = false;
    // Coalescing waits for a timer before each write, which Node clamps to 1 ms: ~1.5 ms per query
    // on this machine (0.6 ms without). Over loopback there are no packets to save, and the local
    // HTTP endpoint answers every worker query over these connections.
    neonConfig.coalesceWrites = false;
  } else {
    // Back to the driver's defaults, in case an earlier call in this process set a local proxy.
    neonConfig.wsProxy = (host: string) => `${host}/v2`;
    neonConfig.useSecureWebSocket = true;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = "password";
    neonConfig.coalesceWrites = true;
  }
}

/**
 * Runs `fn` with a short-lived Neon Pool and always ends it: one-off jobs (migrations, creating
 * test databases, seeding) otherwise leave sockets open and keep Node alive.
 */
export async function withDatabase<T>(
  databaseUrl: string,
  neonWsProxy: string | undefined,
  fn: (pool: Pool) => Promise<T>,
): Promise<T> {
  configureNeonForNode(neonWsProxy);
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  // An idle client's socket error would otherwise be an unhandled 'error' event and crash the tool.
  pool.on("error", () => {});
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}
