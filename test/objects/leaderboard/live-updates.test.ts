import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EntryState } from "../../../src/domain/leaderboard";
import { type LiveMessage, relayObjectName } from "../../../src/domain/live-protocol";
import { makeRandom } from "../../domain/prng";
import { connectLive, LiveView, relayStub } from "../../helpers/live-clients";
import { boardPeriod, stubFor } from "./helpers";

function players(scores: number[], version = 1): EntryState[] {
  return scores.map((score) => ({ playerId: `s${score}`, score, reachedAt: 1, version }));
}

/** Applies each message to a client view and returns its player ids. */
function ids(view: LiveView, message: LiveMessage): string[] {
  expect(view.apply(message)).toBe(true);
  return view.entries.map((e) => e.playerId);
}

describe("LeaderboardDO live updates (through relays)", () => {
  it("sends a snapshot on connect and a delta when the top changes", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    await stub.applyChanges(board, players([10, 20, 30, 40]), 4);
    const inbox = await connectLive(board, { limit: 3 });
    const view = new LiveView();
    const snapshot = await inbox.nextLive();
    expect(snapshot).toMatchObject({ type: "snapshot", total: 4, complete: true });
    expect(ids(view, snapshot)).toEqual(["s40", "s30", "s20"]);

    await stub.applyChanges(board, players([35]), 1);
    const update = await inbox.nextLive();
    expect(update).toMatchObject({
      type: "delta",
      baseSeq: snapshot.type === "snapshot" && snapshot.seq,
    });
    // Ranks 2 and 3 changed; rank 1 did not.
    if (update.type !== "delta") throw new Error("expected a delta");
    expect(update.rows.map((e) => [e.rank, e.playerId])).toEqual([
      [2, "s35"],
      [3, "s30"],
    ]);
    expect(ids(view, update)).toEqual(["s40", "s35", "s30"]);
    expect(view.total).toBe(5);
    const stats = await stub.stats();
    expect(stats).toMatchObject({ sockets: 0, relays: 1, relayPushes: 1 });
  });

  it("throttles: a burst gives one immediate update and one coalesced final one", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    const inbox = await connectLive(board);
    const view = new LiveView();
    expect(ids(view, await inbox.nextLive())).toEqual([]);
    await stub.applyChanges(board, players([1]), 1);
    await stub.applyChanges(board, players([2]), 1);
    await stub.applyChanges(board, players([3]), 1);
    expect(ids(view, await inbox.nextLive())).toEqual(["s1"]);
    expect(ids(view, await inbox.nextLive())).toEqual(["s3", "s2", "s1"]);
    expect(await inbox.quietFor(600)).toBe(true);
    expect((await stub.stats()).relayPushes).toBe(2);
  });

  it("stays silent when a change is below every socket's window", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    await stub.applyChanges(board, players([10, 20, 30]), 3);
    const inbox = await connectLive(board, { limit: 2 });
    await inbox.nextLive();
    await stub.applyChanges(board, players([5]), 1);
    expect(await inbox.quietFor(500)).toBe(true);
  });

  it("answers ping with pong and resends the snapshot on request", async () => {
    const board = boardPeriod();
    const stub = stubFor(board);
    await stub.applyChanges(board, players([7]), 1);
    const inbox = await connectLive(board);
    await inbox.nextLive();
    inbox.ws.send("ping");
    expect(await inbox.next()).toBe("pong");
    inbox.ws.send("snapshot");
    expect(await inbox.nextLive()).toMatchObject({
      type: "snapshot",
      entries: [{ playerId: "s7", rank: 1 }],
    });
  });

  it("keeps serving after object and relay eviction (whole window, then deltas)", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    await stub.applyChanges(board, players([10, 20, 30]), 3);
    const inbox = await connectLive(board, { limit: 2, random: () => 0 });
    const view = new LiveView();
    ids(view, await inbox.nextLive());
    // The subscription is in the object's SQLite; the relay's last window is memory only.
    await evictDurableObject(stub);
    await evictDurableObject(relayStub(board, 0));
    await stub.applyChanges(board, players([25]), 1);
    const whole = await inbox.nextLive();
    expect(whole.type).toBe("update");
    expect(ids(view, whole)).toEqual(["s30", "s25"]);
    await stub.applyChanges(board, players([40]), 1);
    const delta = await inbox.nextLive();
    expect(delta.type).toBe("delta");
    expect(ids(view, delta)).toEqual(["s40", "s30"]);
    expect((await stub.stats()).relays).toBe(1);
  });

  it("the relay refuses plain requests and bad limits", async () => {
    const board = boardPeriod();
    const relay = relayStub(board, 0);
    const base = `http://relay/live?board=${board.boardId}&period=all&index=0&fanout=4&capacity=5`;
    expect((await relay.fetch(base)).status).toBe(426);
    for (const limit of ["101", "abc"]) {
      const res = await relay.fetch(`${base}&limit=${limit}`, {
        headers: { Upgrade: "websocket" },
      });
      expect(res.status).toBe(400);
    }
    expect(relayObjectName(board.boardId, "all", 0)).toBe(`${board.boardId}/all/relay-0`);
  });

  it("deltas over seeded random changes rebuild the window a fresh snapshot shows", async () => {
    const board = boardPeriod({ topSize: 50 });
    const stub = stubFor(board);
    const random = makeRandom(2026);
    const versions = new Map<string, number>();
    const inbox = await connectLive(board, { limit: 8 });
    const view = new LiveView();
    expect(view.apply(await inbox.nextLive())).toBe(true);
    let deltas = 0;
    for (let batch = 0; batch < 25; batch += 1) {
      const changes: EntryState[] = [];
      for (let i = random.int(1, 4); i > 0; i -= 1) {
        const playerId = `p${random.int(0, 15)}`;
        if (changes.some((c) => c.playerId === playerId)) continue;
        const version = (versions.get(playerId) ?? 0) + 1;
        versions.set(playerId, version);
        changes.push({ playerId, score: random.int(0, 100), reachedAt: batch, version });
      }
      await stub.applyChanges(board, changes, 0);
      // Drain what arrived so far (the object coalesces bursts), in order.
      while (!(await inbox.quietFor(30))) {
        for (;;) {
          const message = await inbox.nextLive(50).catch(() => null);
          if (message === null) break;
          if (message.type === "delta") deltas += 1;
          expect(view.apply(message)).toBe(true);
        }
      }
    }
    for (;;) {
      const message = await inbox.nextLive(600).catch(() => null);
      if (message === null) break;
      if (message.type === "delta") deltas += 1;
      expect(view.apply(message)).toBe(true);
    }
    expect(deltas).toBeGreaterThan(3);
    inbox.ws.send("snapshot");
    const snapshot = await inbox.nextLive();
    expect(snapshot.type).toBe("snapshot");
    if (snapshot.type !== "snapshot") throw new Error("expected a snapshot");
    expect(view.entries).toEqual(snapshot.entries);
    expect(snapshot.seq).toBe(view.seq);
    expect(view.entries).toEqual((await stub.page({ limit: 8 })).entries);
  });
});
