import { describe, expect, it } from "vitest";
import type { EntryState } from "../../src/domain/leaderboard";
import {
  type LiveMessage,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
  relayParent,
} from "../../src/domain/live-protocol";
import type { AppBindings } from "../../src/env";
import { objectPlacement } from "../../src/stores/objects/leaderboard";
import { makeRandom } from "../domain/prng";
import { eventually } from "../helpers/factories";
import { connectLive, type Inbox, LiveView, relayStub } from "../helpers/live-clients";
import { boardPeriod, stubFor } from "./leaderboard/helpers";

function players(scores: number[], version = 1): EntryState[] {
  return scores.map((score) => ({ playerId: `s${score}`, score, reachedAt: 1, version }));
}

type Board = ReturnType<typeof boardPeriod>;

/** Sockets per relay index over the first `count` relays (only those with any). */
async function relaySockets(board: Board, count = 30): Promise<Map<number, number>> {
  const used = new Map<number, number>();
  for (let index = 0; index < count; index += 1) {
    const { sockets } = await relayStub(board, index).stats();
    if (sockets > 0) used.set(index, sockets);
  }
  return used;
}

/** Every inbox's next message, applied to its view; the views' player ids. */
async function nextWindows(inboxes: Inbox[], views: LiveView[]): Promise<string[][]> {
  return Promise.all(
    inboxes.map(async (inbox, i) => {
      const view = views[i] as LiveView;
      expect(view.apply(await inbox.nextLive())).toBe(true);
      return view.entries.map((e) => e.playerId);
    }),
  );
}

describe("live relays", () => {
  it("12 sockets, relays of 5: 3+ relays, none on the board object, one push per relay", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    await stub.applyChanges(board, players([10, 20]), 2);
    const random = makeRandom(11);
    const inboxes: Inbox[] = [];
    for (let i = 0; i < 12; i += 1) {
      inboxes.push(await connectLive(board, { capacity: 5, limit: 5, random: random.next }));
    }
    const views = inboxes.map(() => new LiveView());
    expect(await nextWindows(inboxes, views)).toEqual(inboxes.map(() => ["s20", "s10"]));

    const used = await relaySockets(board);
    expect(used.size).toBeGreaterThanOrEqual(3);
    expect([...used.values()].reduce((a, b) => a + b, 0)).toBe(12);
    for (const sockets of used.values()) expect(sockets).toBeLessThanOrEqual(5);
    const before = await stub.stats();
    expect(before).toMatchObject({ sockets: 0, relays: used.size, relayPushes: 0 });

    await stub.applyChanges(board, players([30]), 1);
    expect(await nextWindows(inboxes, views)).toEqual(inboxes.map(() => ["s30", "s20", "s10"]));
    await stub.applyChanges(board, players([15]), 1);
    expect(await nextWindows(inboxes, views)).toEqual(
      inboxes.map(() => ["s30", "s20", "s15", "s10"]),
    );
    // One RPC per relay per update, whatever the sockets behind each.
    expect((await stub.stats()).relayPushes).toBe(2 * used.size);
    for (const index of used.keys()) {
      expect((await relayStub(board, index).stats()).pushesReceived).toBe(2);
    }
  });

  it("a relay whose sockets all closed unsubscribes, and gets no more pushes", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    const a = await connectLive(board, { random: () => 0 });
    const b = await connectLive(board, { random: () => 0 });
    await a.nextLive();
    await b.nextLive();
    expect(await relayStub(board, 0).stats()).toMatchObject({ sockets: 2, subscribed: true });
    expect((await stub.stats()).relays).toBe(1);

    a.ws.close(1000, "bye");
    await eventually(
      async () => ((await relayStub(board, 0).stats()).sockets === 1 ? true : undefined),
      5_000,
      "one socket left",
    );
    expect((await stub.stats()).relays).toBe(1);
    b.ws.close(1000, "bye");
    await eventually(
      async () => ((await stub.stats()).relays === 0 ? true : undefined),
      5_000,
      "the relay unsubscribing",
    );
    expect(await relayStub(board, 0).stats()).toMatchObject({ sockets: 0, subscribed: false });
    await stub.applyChanges(board, players([1]), 1);
    expect((await stub.stats()).relayPushes).toBe(0);
  });

  it("a tree: fan-out 2, the object pushes to at most 2 relays, relays feed the rest", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    const random = makeRandom(5);
    const inboxes: Inbox[] = [];
    for (let i = 0; i < 10; i += 1) {
      const options = { capacity: 2, fanout: 2, limit: 3, random: random.next };
      inboxes.push(await connectLive(board, options));
    }
    const views = inboxes.map(() => new LiveView());
    await nextWindows(inboxes, views);
    const used = await relaySockets(board);
    expect(used.size).toBeGreaterThanOrEqual(5);
    expect([...used.keys()].some((index) => relayParent(index, 2) !== null)).toBe(true);
    expect((await stub.stats()).relays).toBeLessThanOrEqual(2);

    await stub.applyChanges(board, players([7, 8, 9]), 3);
    expect(await nextWindows(inboxes, views)).toEqual(inboxes.map(() => ["s9", "s8", "s7"]));
    const stats = await stub.stats();
    expect(stats.relayPushes).toBe(stats.relays);
    expect(stats.relayPushes).toBeLessThanOrEqual(2);
    let forwarded = 0;
    for (let index = 0; index < 30; index += 1) {
      forwarded += (await relayStub(board, index).stats()).pushesSent;
    }
    expect(forwarded).toBeGreaterThan(0);
  });

  it("a drained relay says bye with a jittered reconnect delay (message and close)", async () => {
    const board = boardPeriod({ topSize: 50 });
    const inboxes: Inbox[] = [];
    for (let i = 0; i < 4; i += 1) inboxes.push(await connectLive(board, { random: () => 0 }));
    for (const inbox of inboxes) await inbox.nextLive();
    await relayStub(board, 0).close("restart");
    for (const inbox of inboxes) {
      const bye = (await inbox.nextLive()) as Extract<LiveMessage, { type: "bye" }>;
      expect(bye).toMatchObject({ type: "bye", reason: "restart" });
      expect(bye.reconnectAfterMs).toBeGreaterThanOrEqual(RECONNECT_MIN_MS);
      expect(bye.reconnectAfterMs).toBeLessThanOrEqual(RECONNECT_MAX_MS);
      const closed = await inbox.closedEvent();
      expect(closed.code).toBe(1012);
      expect(JSON.parse(closed.reason)).toEqual({ reconnectAfterMs: bye.reconnectAfterMs });
    }
    expect((await stubFor(board).stats()).relays).toBe(1);
    expect((await relayStub(board, 0).stats()).subscribed).toBe(false);
  });

  it("board objects take OBJECT_LOCATION_HINT (empty or unknown: none)", () => {
    const placement = (hint: string | undefined) =>
      objectPlacement({ OBJECT_LOCATION_HINT: hint } as unknown as AppBindings);
    expect(placement("enam")).toEqual({ locationHint: "enam" });
    expect(placement(" weur ")).toEqual({ locationHint: "weur" });
    expect(placement("")).toEqual({});
    expect(placement("mars")).toEqual({});
    expect(placement(undefined)).toEqual({});
  });
});
