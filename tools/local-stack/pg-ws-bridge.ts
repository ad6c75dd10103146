import { createServer, type IncomingMessage } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { type Log, silent } from "./log.ts";
import { createNeonHttpEndpoint, type NeonHttpEndpoint } from "./neon-http-endpoint.ts";
import { isLoopbackHost } from "./pg-url.ts";

export interface PgWsBridgeOptions {
  /** 0 (default) = any free port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1 (never exposed beyond this machine). */
  host?: string;
  /** Which Postgres servers clients may reach; default: loopback only. */
  allowedTargets?: (host: string, port: number) => boolean;
  log?: Log;
}

export interface PgWsBridge {
  port: number;
  /**
   * "127.0.0.1:PORT/v1": the value for neonConfig.wsProxy / NEON_WS_PROXY. The same port answers
   * Neon's HTTP queries at http://127.0.0.1:PORT/sql (neonConfig.fetchEndpoint).
   */
  url: string;
  /** Closes every open tunnel and the listener. */
  stop(): Promise<void>;
}

// Above this many bytes queued towards the WebSocket, stop reading Postgres until it drains, so a
// huge result set streams instead of piling up in memory.
const WS_HIGH_WATER_BYTES = 1024 * 1024;
const BINARY = { binary: true } as const;

/**
 * Local stand-in for Neon's proxy: the Neon serverless driver speaks the Postgres wire protocol
 * over a WebSocket, so production code can run unchanged against a plain local Postgres (or
 * PGlite) when neonConfig.wsProxy points here. Bytes are piped as-is, no per-message work or
 * logging: benchmarks run through this. `POST /sql` on the same port is Neon's HTTP query
 * endpoint (neon-http-endpoint.ts).
 */
export async function startPgWsBridge(opts: PgWsBridgeOptions = {}): Promise<PgWsBridge> {
  const log = opts.log ?? silent;
  const allowed = opts.allowedTargets ?? ((host: string) => isLoopbackHost(host));
  const listenHost = opts.host ?? "127.0.0.1";
  const tunnels = new Set<{ ws: WebSocket; tcp: Socket }>();

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
  });
  // Created once the port is known: its pooled connections come back through this bridge.
  let http: NeonHttpEndpoint | undefined;
  const server = createServer((req, res) => {
    if (http && new URL(req.url ?? "/", "http://bridge").pathname === "/sql") {
      void http.handle(req, res);
      return;
    }
    res.writeHead(426, { "content-type": "text/plain" });
    res.end(
      "This is the local Neon proxy: connect with a WebSocket to /v1?address=host:port, or POST queries to /sql\n",
    );
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {}); // a client resetting mid-handshake must not crash the process
    const url = new URL(req.url ?? "/", "http://bridge");
    if (url.pathname !== "/v1" && url.pathname !== "/v2") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    (socket as Socket).setNoDelay?.(true);
    wss.handleUpgrade(req, socket, head, (ws) => openTunnel(ws, url.searchParams.get("address")));
  });

  function openTunnel(ws: WebSocket, address: string | null): void {
    const target = parseAddress(address);
    if (!target) {
      log(`neon-bridge: refused a connection with address=${address ?? "(missing)"}`);
      closeWith(ws, 1008, "address must be host:port, e.g. /v1?address=127.0.0.1:5432");
      return;
    }
    if (!allowed(target.host, target.port)) {
      log(
        `neon-bridge: refused ${target.host}:${target.port}: not an allowed target (loopback only unless configured)`,
      );
      closeWith(
        ws,
        1008,
        `${target.host}:${target.port} is not allowed: the local bridge only dials loopback`,
      );
      return;
    }

    const tcp = connect({ host: target.host, port: target.port });
    tcp.setNoDelay(true);
    const tunnel = { ws, tcp };
    tunnels.add(tunnel);

    // Client → Postgres. Writes before 'connect' are queued by net.Socket, so nothing is lost while
    // the TCP handshake completes.
    ws.on("message", (data: RawData) => {
      const ok = Array.isArray(data)
        ? data.reduce((acc, part) => tcp.write(part) && acc, true)
        : tcp.write(data as Buffer);
      if (!ok) ws.pause();
    });
    tcp.on("drain", () => ws.resume());

    // Postgres → client, with backpressure based on what is still queued for the WebSocket.
    tcp.on("data", (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount + chunk.length > WS_HIGH_WATER_BYTES) {
        tcp.pause();
        ws.send(chunk, BINARY, () => tcp.resume());
      } else {
        ws.send(chunk, BINARY);
      }
    });

    let tcpError: NodeJS.ErrnoException | undefined;
    tcp.on("error", (err: NodeJS.ErrnoException) => {
      tcpError = err;
    });
    tcp.on("close", () => {
      tunnels.delete(tunnel);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
        if (tcpError) {
          const what = tcpError.code ?? tcpError.message;
          log(`neon-bridge: Postgres at ${target.host}:${target.port}: ${what} (is it running?)`);
          closeWith(ws, 1011, `Postgres at ${target.host}:${target.port}: ${what}`);
        } else {
          ws.close(1000);
        }
      }
    });
    ws.on("close", () => {
      tunnels.delete(tunnel);
      // end() lets a queued Terminate message reach Postgres; allowHalfOpen=false closes the rest.
      if (!tcp.destroyed) tcp.end();
    });
    ws.on("error", () => tcp.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `Neon WebSocket bridge could not listen on ${listenHost}:${opts.port ?? 0} (${err.code ?? err.message}): pick another port or stop what uses it`,
        ),
      ),
    );
    server.listen(opts.port ?? 0, listenHost, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = listenHost.includes(":") ? `[${listenHost}]` : listenHost;
  const url = `${hostForUrl}:${port}/v1`;
  const endpoint = createNeonHttpEndpoint({ wsProxy: url, allowedTargets: allowed, log });
  http = endpoint;

  let stopped: Promise<void> | undefined;
  return {
    port,
    url,
    stop() {
      // The HTTP endpoint's pooled connections end politely first (bounded: a hung one must not
      // keep the bridge up); then every tunnel still open is cut.
      const ended = Promise.race([
        endpoint.close(),
        new Promise<void>((r) => setTimeout(r, 2_000).unref()),
      ]);
      stopped ??= ended.then(
        () =>
          new Promise<void>((resolve) => {
            for (const { ws, tcp } of tunnels) {
              ws.terminate();
              tcp.destroy();
            }
            tunnels.clear();
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      );
      return stopped;
    },
  };
}

/** Close frames carry at most 123 bytes of reason; ws throws beyond that. */
function closeWith(ws: WebSocket, code: number, reason: string): void {
  let text = reason;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  ws.close(code, text);
}

/** "host:port", "[::1]:5432" or "::1:5432" → parts; undefined when malformed. */
function parseAddress(address: string | null): { host: string; port: number } | undefined {
  if (!address) return undefined;
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || !host) return undefined;
  return { host, port };
}
