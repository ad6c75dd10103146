import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { EntryState, LiveMessage } from "../../../src/domain/leaderboard";
import { boardPeriod, stubFor } from "./helpers";

type Stub = ReturnType<typeof stubFor>;

/** Collects what a client socket receives and lets a test wait for the next message. */
class Inbox {
  readonly received: Array<LiveMessage | string> = [];
  #waiters: Array<() => void> = [];
  #read = 0;

  constructor(ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      let message: LiveMessage | string = text;
      try {
        message = JSON.parse(text) as LiveMessage;
      } catch {
        // Plain text (the ping auto-response).
      }
      this.received.push(message);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** The next unread message, or an error after `timeoutMs`. */
  async next(timeoutMs = 2000): Promise<LiveMessage | string> {
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

  /** Resolves true if nothing new arrives within `ms`. */
  async quietFor(ms: number): Promise<boolean> {
    const count = this.received.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received.length === count && this.#read === count;
  }
}

const sockets: WebSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) {
    try {
      ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
});

async function connect(stub: Stub, query = ""): Promise<Inbox> {
  const res = await stub.fetch(`http://do/ws${query}`, { headers: { Upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (ws === null) throw new Error("no websocket in the response");
  const inbox = new Inbox(ws);
  ws.accept();
  sockets.push(ws);
  return inbox;
}

function players(scores: number[], version = 1): EntryState[] {
  return scores.map((score) => ({ playerId: `s${score}`, score, reachedAt: 1, version }));
}

async function nextLive(inbox: Inbox): Promise<LiveMessage> {
  const message = await inbox.next();
  if (typeof message === "string") throw new Error(`unexpected text ${message}`);
  return message;
}

describe("LeaderboardDO live updates", () => {
  it("sends a snapshot on connect and an update when the top changes", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    await stub.applyChanges(board, players([10, 20, 30, 40]), 4);
    const inbox = await connect(stub, "?limit=3");
    const snapshot = await nextLive(inbox);
    expect(snapshot).toMatchObject({ type: "snapshot", total: 4, complete: true });
    expect(snapshot.entries.map((e) => e.playerId)).toEqual(["s40", "s30", "s20"]);

    await stub.applyChanges(board, players([35]), 1);
    const update = await nextLive(inbox);
    expect(update.type).toBe("update");
    expect(update.entries.map((e) => [e.rank, e.playerId])).toEqual([
      [1, "s40"],
      [2, "s35"],
      [3, "s30"],
    ]);
    expect(update.total).toBe(5);
    expect((await stub.stats()).sockets).toBe(1);
  });

  it("throttles: a burst gives one immediate update and one coalesced update with the final state", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    const inbox = await connect(stub);
    expect(await nextLive(inbox)).toMatchObject({ type: "snapshot", entries: [] });
    await stub.applyChanges(board, players([1]), 1);
    await stub.applyChanges(board, players([2]), 1);
    await stub.applyChanges(board, players([3]), 1);
    const first = await nextLive(inbox);
    expect(first.entries.map((e) => e.playerId)).toEqual(["s1"]);
    const second = await nextLive(inbox);
    expect(second.entries.map((e) => e.playerId)).toEqual(["s3", "s2", "s1"]);
    expect(await inbox.quietFor(600)).toBe(true);
  });

  it("stays silent when a change is below every socket's window", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    await stub.applyChanges(board, players([10, 20, 30]), 3);
    const inbox = await connect(stub, "?limit=2");
    await nextLive(inbox);
    await stub.applyChanges(board, players([5]), 1);
    expect(await inbox.quietFor(500)).toBe(true);
  });

  it("answers ping with pong and resends the snapshot on request", async () => {
    const board = boardPeriod();
    const stub = stubFor(board);
    await stub.applyChanges(board, players([7]), 1);
    const res = await stub.fetch("http://do/ws", { headers: { Upgrade: "websocket" } });
    const ws = res.webSocket;
    if (ws === null) throw new Error("no websocket");
    const inbox = new Inbox(ws);
    ws.accept();
    sockets.push(ws);
    await nextLive(inbox);
    ws.send("ping");
    expect(await inbox.next()).toBe("pong");
    ws.send("snapshot");
    expect(await nextLive(inbox)).toMatchObject({
      type: "snapshot",
      entries: [{ playerId: "s7", rank: 1 }],
    });
  });

  it("keeps serving a socket after the object hibernates (limit survives in the attachment)", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    await stub.applyChanges(board, players([10, 20, 30]), 3);
    const inbox = await connect(stub, "?limit=2");
    await nextLive(inbox);
    await evictDurableObject(stub);
    await stub.applyChanges(board, players([25]), 1);
    const update = await nextLive(inbox);
    expect(update.entries.map((e) => e.playerId)).toEqual(["s30", "s25"]);
  });

  it("refuses plain requests and bad limits", async () => {
    const stub = stubFor(boardPeriod());
    expect((await stub.fetch("http://do/ws")).status).toBe(426);
    expect(
      (await stub.fetch("http://do/ws?limit=101", { headers: { Upgrade: "websocket" } })).status,
    ).toBe(400);
    expect(
      (await stub.fetch("http://do/ws?limit=abc", { headers: { Upgrade: "websocket" } })).status,
    ).toBe(400);
  });
});
