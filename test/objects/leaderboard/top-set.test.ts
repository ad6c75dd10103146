import { describe, expect, it } from "vitest";
import { SORT_ORDERS } from "../../../src/domain";
import type { EntryState, RankedEntryView } from "../../../src/domain/leaderboard";
import { RebuildJournal } from "../../../src/objects/leaderboard/rebuild-journal";
import { RecentVersions } from "../../../src/objects/leaderboard/recent-versions";
import { TopSet } from "../../../src/objects/leaderboard/top-set";
import { viewsOf } from "../../../src/objects/leaderboard/views";
import { makeRandom } from "../../domain/prng";
import { arbitraryHistory, batches, improvingHistory, ReferenceBoard } from "./reference";

function held(top: TopSet): RankedEntryView[] {
  return viewsOf(top.entries, 0, top.size);
}

describe("TopSet", () => {
  it("equals the brute-force top-N for improving histories in any order, with repeats", () => {
    for (const sortOrder of SORT_ORDERS) {
      for (let seed = 1; seed <= 25; seed += 1) {
        const random = makeRandom(seed);
        const topSize = random.int(1, 20);
        const history = improvingHistory(seed, sortOrder, random.int(5, 40), random.int(1, 4));
        // Shuffled and partly repeated: at-least-once, out-of-order delivery.
        const delivery = random.shuffle([...history, ...history.filter(() => random.next() < 0.3)]);
        const top = new TopSet(sortOrder, topSize);
        const reference = new ReferenceBoard(sortOrder);
        for (const batch of batches(seed, delivery, 12)) {
          top.apply(batch);
          reference.apply(batch);
          expect(top.complete).toBe(true);
          expect(held(top)).toEqual(reference.top(topSize));
        }
      }
    }
  });

  it("keeps an exact prefix for arbitrary histories and is complete exactly when it can vouch", () => {
    for (const sortOrder of SORT_ORDERS) {
      for (let seed = 1; seed <= 40; seed += 1) {
        const random = makeRandom(seed + 1000);
        const topSize = random.int(1, 15);
        const history = arbitraryHistory(seed, random.int(3, 30), random.int(1, 5));
        const delivery = random.shuffle([...history, ...history.filter(() => random.next() < 0.2)]);
        const top = new TopSet(sortOrder, topSize);
        const reference = new ReferenceBoard(sortOrder);
        for (const batch of batches(seed, delivery, 8)) {
          top.apply(batch);
          reference.apply(batch);
          const ranked = reference.ranked();
          // Every held entry has its exact rank, whatever was dropped.
          expect(held(top)).toEqual(ranked.slice(0, top.size));
          if (top.complete) expect(top.size).toBe(Math.min(topSize, ranked.length));
        }
        // A rebuild (Postgres = the reference) restores the exact top-N.
        top.replace([...reference.latest.values()]);
        expect(top.complete).toBe(true);
        expect(held(top)).toEqual(reference.top(topSize));
      }
    }
  });

  it("drops a top player whose score got worse past the last entry and turns incomplete", () => {
    const top = new TopSet("desc", 3);
    top.apply([
      { playerId: "a", score: 50, reachedAt: 1, version: 1 },
      { playerId: "b", score: 40, reachedAt: 1, version: 1 },
      { playerId: "c", score: 30, reachedAt: 1, version: 1 },
      { playerId: "d", score: 20, reachedAt: 1, version: 1 },
    ]);
    expect(top.entries.map((e) => e.playerId)).toEqual(["a", "b", "c"]);
    // Worse, but still ahead of the last entry: its place is exact.
    top.apply([{ playerId: "a", score: 35, reachedAt: 2, version: 2 }]);
    expect(top.entries.map((e) => e.playerId)).toEqual(["b", "a", "c"]);
    expect(top.complete).toBe(true);
    // Worse than the last: "d" (not held) might be ahead of it now.
    const outcome = top.apply([{ playerId: "a", score: 10, reachedAt: 3, version: 3 }]);
    expect(outcome.removals).toEqual(new Set(["a"]));
    expect(top.entries.map((e) => e.playerId)).toEqual(["b", "c"]);
    expect(top.complete).toBe(false);
    // Incomplete: a newcomer past the last held entry cannot be placed either.
    top.apply([{ playerId: "e", score: 5, reachedAt: 1, version: 1 }]);
    expect(top.size).toBe(2);
    // A newcomer ahead of the last one fills the set to topSize again: complete.
    top.apply([{ playerId: "f", score: 45, reachedAt: 1, version: 1 }]);
    expect(top.entries.map((e) => e.playerId)).toEqual(["f", "b", "c"]);
    expect(top.complete).toBe(true);
  });

  it("a version bump that changes nothing keeps the last entry and reports no visible change", () => {
    const top = new TopSet("asc", 2);
    top.apply([
      { playerId: "a", score: 1, reachedAt: 1, version: 1 },
      { playerId: "b", score: 2, reachedAt: 1, version: 1 },
      { playerId: "c", score: 3, reachedAt: 1, version: 1 },
    ]);
    const outcome = top.apply([{ playerId: "b", score: 2, reachedAt: 1, version: 2 }]);
    expect(outcome.applied).toBe(1);
    expect(outcome.firstChangedIndex).toBe(Number.POSITIVE_INFINITY);
    expect(outcome.upserts.get("b")?.version).toBe(2);
    expect(top.complete).toBe(true);
    expect(top.size).toBe(2);
  });

  it("ignores a stale state of a player that is no longer held", () => {
    // latest board: v1 was great, v2 is poor; v2 arrives first.
    const top = new TopSet("desc", 2);
    top.apply([
      { playerId: "a", score: 50, reachedAt: 1, version: 1 },
      { playerId: "b", score: 40, reachedAt: 1, version: 1 },
    ]);
    top.apply([{ playerId: "x", score: 1, reachedAt: 5, version: 2 }]);
    const outcome = top.apply([{ playerId: "x", score: 99, reachedAt: 4, version: 1 }]);
    expect(outcome.applied).toBe(0);
    expect(top.entries.map((e) => e.playerId)).toEqual(["a", "b"]);
  });

  it("keeps names and metadata when a change leaves them undefined, clears them on null", () => {
    const top = new TopSet("desc", 5);
    top.apply([
      {
        playerId: "a",
        score: 1,
        reachedAt: 1,
        version: 1,
        displayName: "Ann",
        metadata: { lvl: 1 },
      },
    ]);
    top.apply([{ playerId: "a", score: 2, reachedAt: 2, version: 2 }]);
    expect(top.get("a")).toMatchObject({ displayName: "Ann", metadata: { lvl: 1 } });
    top.apply([
      { playerId: "a", score: 3, reachedAt: 3, version: 3, displayName: null, metadata: null },
    ]);
    expect(top.get("a")).toMatchObject({ displayName: null, metadata: null });
  });

  it("resize: shrinking truncates and stays complete, growing a full set turns incomplete", () => {
    const top = new TopSet("desc", 3);
    top.apply([1, 2, 3, 4].map((s) => ({ playerId: `p${s}`, score: s, reachedAt: 1, version: 1 })));
    const shrunk = top.resize(2);
    expect(shrunk.removals).toEqual(new Set(["p2"]));
    expect(top.complete).toBe(true);
    top.resize(5);
    expect(top.complete).toBe(false);
  });

  it("rebuild journal: changes that arrive during the rebuild survive the snapshot", () => {
    const random = makeRandom(5);
    for (let round = 0; round < 30; round += 1) {
      const sortOrder = random.pick(SORT_ORDERS);
      const topSize = random.int(2, 8);
      const history = random.shuffle(arbitraryHistory(round, random.int(3, 15), random.int(1, 4)));
      const cut = random.int(0, history.length);
      const before = history.slice(0, cut);
      const during = history.slice(cut);
      const top = new TopSet(sortOrder, topSize, new RecentVersions());
      const reference = new ReferenceBoard(sortOrder);
      top.apply(before);
      reference.apply(before);
      // The snapshot sees what came before and a random part of what arrives meanwhile.
      const journal = new RebuildJournal();
      const snapshotBoard = new ReferenceBoard(sortOrder);
      snapshotBoard.apply(before);
      snapshotBoard.apply(during.filter(() => random.next() < 0.5));
      journal.record(top, during);
      top.apply(during);
      reference.apply(during);
      const snapshot: EntryState[] = snapshotBoard.top(topSize).map((v) => {
        const state = snapshotBoard.latest.get(v.playerId);
        if (state === undefined) throw new Error("missing");
        return state;
      });
      journal.mergeInto(top, snapshot);
      const ranked = reference.ranked();
      expect(held(top)).toEqual(ranked.slice(0, top.size));
      if (top.complete) expect(top.size).toBe(Math.min(topSize, ranked.length));
    }
  });
});
