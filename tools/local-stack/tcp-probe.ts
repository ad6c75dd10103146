import { connect } from "node:net";

/**
 * Fails fast, with an actionable message, when a service we were told to use is not listening.
 * Without it the Neon driver or ioredis would retry or hang, and the eventual error would not say
 * which server is missing or how to start it.
 */
export async function assertTcpReachable(opts: {
  host: string;
  port: number;
  /** e.g. "Postgres at 127.0.0.1:5432" */
  what: string;
  /**
   * What the user should do, e.g. "start it (pg_ctlcluster 15 main start) or unset DATABASE_URL".
   */
  fix: string;
  timeoutMs?: number;
}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: opts.host, port: opts.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${opts.what} did not answer within ${timeoutMs} ms: ${opts.fix}`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const why =
        err.code === "ECONNREFUSED"
          ? "refused the connection"
          : err.code === "ENOTFOUND" || err.code === "EAI_AGAIN"
            ? `has an unknown host name (${err.code})`
            : `is unreachable (${err.code ?? err.message})`;
      reject(new Error(`${opts.what} ${why}: ${opts.fix}`));
    });
  });
}
