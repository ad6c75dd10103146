/**
 * Live-feed clients for tests: sockets opened the way the route opens them (the service picks a
 * relay), an inbox per socket, and the client's side of the protocol (apply deltas, check seqs).
 */
import { env } from "cloudflare:workers";
import { afterEach, expect } from "vitest";
import type { RankedEntryView } from "../../src/domain/leaderboard";
import { applyDelta, type LiveMessage } from "../../src/domain/live-protocol";
import type { AppBindings } from "../../src/env";
import { connectLiveFeed } from "../../src/services/leaderboards/live-feed";
import { storesFor } from "../../src/stores";

/** Collects what a client socket receives and lets a test wait for the next message. */
export class Inbox {
  readonly received: Array<LiveMessage | string> = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: Array<() => void> = [];
  #read = 0;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      let message: LiveMessage | string = text;
      try {
        message = JSON.parse(text) as LiveMessage;
      } catch {
        // Plain text (the ping auto-response).
      }
      this.received.push(message);
      this.#wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The next unread message, or an error after `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<LiveMessage | string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.received.length) {
      if (Date.now() > deadline) throw new Error("no message");
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        new Promise((resolve) => setTimeout(resolve, 50)),
      ]);
    }
    const message = this.received[this.#read];
    this.#read += 1;
    if (message === undefined) throw new Error("unreachable");
    return message;
  }

  /** The next unread JSON message. */
  async nextLive(timeoutMs?: number): Promise<LiveMessage> {
    const message = await this.next(timeoutMs);
    if (typeof message === "string") throw new Error(`unexpected text ${message}`);
    return message;
  }

  /** Resolves true if nothing new arrives within `ms`. */
  async quietFor(ms: number): Promise<boolean> {
    const count = this.received.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received.length === count && this.#read === count;
  }

  /** Waits for the close event. */
  async closedEvent(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === null) {
      if (Date.now() > deadline) throw new Error("not closed");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.closed;
  }
}

/** The client's view: the window it holds and its seq, following the protocol's rules. */
export class LiveView {
  entries: RankedEntryView[] = [];
  total = 0;
  seq: number | null = null;

  /** Applies a message; false when a delta does not apply (the client would ask for a snapshot). */
  apply(message: LiveMessage): boolean {
    if (message.type === "bye") return true;
    if (message.type === "delta") {
      if (message.baseSeq !== this.seq) return false;
      this.entries = applyDelta(this.entries, message);
    } else {
      this.entries = message.entries;
    }
    this.seq = message.seq;
    this.total = message.total;
    return true;
  }
}

const opened: WebSocket[] = [];
afterEach(() => {
  for (const ws of opened.splice(0)) {
    try {
      ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
});

/** Relay capacity and fan-out of the stores a test connects with (the route reads the vars). */
function liveStores(options: { capacity?: number; fanout?: number } = {}) {
  return storesFor({
    ...(env as AppBindings),
    LIVE_RELAY_CAPACITY: String(options.capacity ?? 2000),
    LIVE_RELAY_FANOUT: String(options.fanout ?? 32),
  });
}

/** Opens a live socket on the board-period as GET /v1/leaderboards/{board}/live does. */
export async function connectLive(
  board: { boardId: string; periodKey: string },
  options: { limit?: number; capacity?: number; fanout?: number; random?: () => number } = {},
): Promise<Inbox> {
  const res = await connectLiveFeed(
    liveStores(options),
    board.boardId,
    board.periodKey,
    options.limit ?? 10,
    new Request("http://edge.test/live", { headers: { Upgrade: "websocket" } }),
    options.random,
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (ws === null) throw new Error("no websocket in the response");
  const inbox = new Inbox(ws);
  ws.accept();
  opened.push(ws);
  return inbox;
}

/** The stub of relay `index` of a board-period. */
export function relayStub(board: { boardId: string; periodKey: string }, index: number) {
  return liveStores().liveRelay(board.boardId, board.periodKey, index);
}
