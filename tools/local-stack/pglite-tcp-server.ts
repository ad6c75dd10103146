import { type AddressInfo, createServer, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { type Log, silent } from "./log.ts";

export interface PgliteTcpServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  maxConnections: number;
  log?: Log;
}

export interface PgliteTcpServer {
  port: number;
  /** Closes the listener and every client, then waits for the statement in flight. */
  stop(): Promise<void>;
}

// Startup-phase request codes (first message of a connection, which has no type byte).
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3_0 = 196608;
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I': ReadyForQuery status outside any transaction
const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const LONG_HOLD_WARNING_MS = 5000;
const EMPTY = Buffer.alloc(0);
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
const ROLLBACK = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 13]), Buffer.from("ROLLBACK\0")]);

interface Connection {
  id: number;
  socket: Socket;
  /** Bytes received that do not yet form a whole message. */
  inbox: Buffer;
  /** Whole frontend messages waiting for the backend, in order. */
  ready: Buffer[];
  startupDone: boolean;
  /**
   * The backend's last word to this connection was ReadyForQuery 'I': safe to hand it to others.
   */
  atBoundary: boolean;
  queued: boolean;
  closed: boolean;
}

/**
 * Serves one PGlite instance to many Postgres clients over TCP. PGlite is a single backend, so
 * clients take turns: a connection keeps the backend from its first message until the backend
 * reports ReadyForQuery 'I' (idle, outside any transaction), so transactions and extended-protocol
 * sequences (Parse/Bind/Execute/Sync) are never interleaved and an error in one connection never
 * leaks into another. Replaces @electric-sql/pglite-socket 0.2.17's server, which hangs clients
 * that close connections (it forwards Terminate to PGlite, which ignores it, and never closes the
 * socket) and only serialises explicit transactions.
 */
export async function servePgliteOverTcp(
  db: PGlite,
  opts: PgliteTcpServerOptions,
): Promise<PgliteTcpServer> {
  const log = opts.log ?? silent;
  const connections = new Set<Connection>();
  const waiting: Connection[] = [];
  let owner: Connection | undefined;
  let pumping: Promise<void> | undefined;
  let stopping = false;
  let nextId = 1;
  let holdTimer: NodeJS.Timeout | undefined;

  const server = createServer((socket) => {
    if (stopping) {
      socket.destroy();
      return;
    }
    if (connections.size >= opts.maxConnections) {
      socket.end(
        errorResponse(
          "53300",
          `too many connections to the embedded PGlite (max ${opts.maxConnections}): close idle pools or lower their size`,
        ),
      );
      return;
    }
    socket.setNoDelay(true);
    const conn: Connection = {
      id: nextId++,
      socket,
      inbox: EMPTY,
      ready: [],
      startupDone: false,
      atBoundary: true,
      queued: false,
      closed: false,
    };
    connections.add(conn);
    socket.on("data", (chunk: Buffer) => onData(conn, chunk));
    socket.on("error", () => {}); // 'close' follows; a client vanishing is routine.
    socket.on("close", () => {
      conn.closed = true;
      conn.ready = [];
      connections.delete(conn);
      schedule();
    });
  });

  function onData(conn: Connection, chunk: Buffer): void {
    const buf = conn.inbox.length ? Buffer.concat([conn.inbox, chunk]) : chunk;
    let off = 0;
    for (;;) {
      const left = buf.length - off;
      if (!conn.startupDone) {
        if (left < 8) break;
        const len = buf.readInt32BE(off);
        if (len < 8 || len > 10_000) {
          protocolViolation(conn, "malformed startup message");
          return;
        }
        if (left < len) break;
        const code = buf.readInt32BE(off + 4);
        const msg = buf.subarray(off, off + len);
        off += len;
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          conn.socket.write("N"); // no encryption locally; the client continues in plain text
        } else if (code === CANCEL_REQUEST) {
          conn.socket.destroy(); // not supported: statements run to completion
          return;
        } else if (code === PROTOCOL_3_0) {
          conn.ready.push(msg);
          conn.startupDone = true;
        } else {
          protocolViolation(conn, `unsupported protocol ${code >> 16}.${code & 0xffff}`);
          return;
        }
        continue;
      }
      if (left < 5) break;
      const len = buf.readInt32BE(off + 1);
      if (len < 4 || len > MAX_MESSAGE_BYTES) {
        protocolViolation(conn, "malformed message length");
        return;
      }
      if (left < len + 1) break;
      conn.ready.push(buf.subarray(off, off + 1 + len));
      off += 1 + len;
    }
    conn.inbox = off === buf.length ? EMPTY : buf.subarray(off);
    if (conn.ready.length > 0 && conn !== owner && !conn.queued) {
      conn.queued = true;
      waiting.push(conn);
    }
    schedule();
  }

  function protocolViolation(conn: Connection, what: string): void {
    conn.socket.end(
      errorResponse("08P01", `${what}: connect with a Postgres client (protocol 3.0)`),
    );
    conn.closed = true;
    conn.ready = [];
  }

  function schedule(): void {
    pumping ??= pump().finally(() => {
      pumping = undefined;
    });
  }

  // The only place that talks to PGlite: one connection at a time, in arrival order.
  async function pump(): Promise<void> {
    for (;;) {
      if (!owner) {
        clearTimeout(holdTimer);
        holdTimer = undefined;
        owner = waiting.shift();
        if (!owner) return;
        owner.queued = false;
        if (owner.closed) {
          owner = undefined;
          continue;
        }
      }
      const conn = owner;
      if (conn.closed) {
        if (!conn.atBoundary) await resetBackend(conn);
        owner = undefined;
        continue;
      }
      if (conn.ready.length === 0) {
        if (conn.atBoundary) {
          owner = undefined;
          continue;
        }
        // Mid-transaction or mid-sequence: wait for this client's next message.
        if (waiting.length > 0 && !holdTimer)
          holdTimer = setTimeout(() => warnLongHold(conn), LONG_HOLD_WARNING_MS);
        return;
      }
      const first = conn.ready[0] as Buffer;
      if (first[0] === TERMINATE) {
        conn.ready = [];
        conn.socket.end();
        conn.closed = true;
        continue;
      }
      await execute(conn, takeBatch(conn));
      // Between transactions a busy connection goes to the back of the line, so others get a turn.
      if (conn.atBoundary && conn.ready.length > 0 && waiting.length > 0 && !conn.closed) {
        owner = undefined;
        conn.queued = true;
        waiting.push(conn);
      }
    }
  }

  // A startup message runs alone (PGlite recognises it by its leading zero byte); otherwise
  // everything queued up to a Terminate goes in one call, which PGlite processes in order.
  function takeBatch(conn: Connection): Buffer {
    const first = conn.ready[0] as Buffer;
    if (first[0] === 0) {
      conn.ready.shift();
      return first;
    }
    let count = 0;
    let bytes = 0;
    for (const msg of conn.ready) {
      if (msg[0] === TERMINATE || (count > 0 && bytes + msg.length > MAX_BATCH_BYTES)) break;
      count++;
      bytes += msg.length;
    }
    const batch = conn.ready.splice(0, count);
    return batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, bytes);
  }

  async function execute(conn: Connection, batch: Buffer): Promise<void> {
    const scan = newReadyScanner();
    try {
      await db.execProtocolRawStream(batch, {
        onRawData: (data) => {
          scan(data);
          // PGlite reuses its output buffer: copy before handing it to the socket.
          if (!conn.closed) conn.socket.write(Buffer.from(data));
        },
      });
    } catch (err) {
      const crashed = (err as Error).name === "ExitStatus";
      log(
        crashed
          ? `pglite: a statement from connection #${conn.id} stopped the embedded Postgres (${(err as Error).message}): restart the process (PGlite cannot run COPY … FROM STDIN)`
          : `pglite: connection #${conn.id} failed (${(err as Error).message}); closing it`,
      );
      conn.socket.destroy();
      conn.closed = true;
      conn.ready = [];
    }
    const last = scan.result();
    if (last !== undefined) conn.atBoundary = last === IDLE;
  }

  // Left mid-transaction or mid-sequence by a client that went away: finish the sequence and roll
  // back, so the next connection finds an idle backend.
  async function resetBackend(conn: Connection): Promise<void> {
    for (const msg of [SYNC, ROLLBACK]) {
      const scan = newReadyScanner();
      try {
        await db.execProtocolRawStream(msg, { onRawData: scan });
      } catch {
        // A closing database: nothing left to clean.
        return;
      }
      if (scan.result() === IDLE) break;
    }
    conn.atBoundary = true;
  }

  function warnLongHold(conn: Connection): void {
    if (owner !== conn || waiting.length === 0) return;
    log(
      `pglite: connection #${conn.id} has kept a transaction open for ${LONG_HOLD_WARNING_MS / 1000} s while ${waiting.length} other connection(s) wait: ` +
        "PGlite runs one transaction at a time, so code that awaits another connection inside a transaction deadlocks here; " +
        "keep transactions short or use a real Postgres (DATABASE_URL)",
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  let stopped: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const conn of connections) conn.socket.destroy();
        await closed;
        await pumping;
        clearTimeout(holdTimer);
      })();
      return stopped;
    },
  };
}

/**
 * Tracks backend message boundaries across output chunks and remembers the status byte of the last
 * message if it was ReadyForQuery (undefined: no output; 0: the last message was something else).
 */
function newReadyScanner(): ((chunk: Uint8Array) => void) & { result(): number | undefined } {
  const header = Buffer.alloc(5);
  let headerFill = 0;
  let bodyLeft = 0;
  let lastType = -1;
  let lastStatus = 0;
  let sawOutput = false;
  const feed = (chunk: Uint8Array): void => {
    let i = 0;
    if (chunk.length > 0) sawOutput = true;
    while (i < chunk.length) {
      if (bodyLeft > 0) {
        if (lastType === READY_FOR_QUERY && bodyLeft === 1) lastStatus = chunk[i] as number;
        const take = Math.min(bodyLeft, chunk.length - i);
        i += take;
        bodyLeft -= take;
        continue;
      }
      header[headerFill++] = chunk[i++] as number;
      if (headerFill === 5) {
        lastType = header.readUInt8(0);
        bodyLeft = header.readInt32BE(1) - 4;
        headerFill = 0;
        lastStatus = 0;
      }
    }
  };
  return Object.assign(feed, {
    result: () => (sawOutput ? (lastType === READY_FOR_QUERY ? lastStatus : 0) : undefined),
  });
}

/** A Postgres ErrorResponse, so clients show a readable reason instead of "connection reset". */
function errorResponse(sqlstate: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head[0] = 0x45; // 'E'
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}
