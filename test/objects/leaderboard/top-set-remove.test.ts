import { describe, expect, it } from "vitest";
import type { EntryState } from "../../../src/domain/leaderboard";
import { RebuildJournal } from "../../../src/objects/leaderboard/rebuild-journal";
import { TopSet } from "../../../src/objects/leaderboard/top-set";

const state = (playerId: string, score: number, version = 1): EntryState => ({
  playerId,
  score,
  reachedAt: 1_000,
  version,
});

const ids = (top: TopSet) => top.entries.map((e) => e.playerId);

/** A moderator's removal (TopSet.remove): version-bounded, remembered, and it costs completeness. */
describe("TopSet.remove", () => {
  it("takes a held player out, refuses the removed state's stale projection, takes a newer one", () => {
    const top = new TopSet("desc", 3);
    top.apply([state("a", 30, 4), state("b", 20), state("c", 10), state("d", 5)]);
    expect(ids(top)).toEqual(["a", "b", "c"]);
    const outcome = top.remove([{ playerId: "a", version: 4 }]);
    expect(outcome).toMatchObject({ applied: 1, firstChangedIndex: 0 });
    expect([...outcome.removals]).toEqual(["a"]);
    expect(ids(top)).toEqual(["b", "c"]);
    // A full set lost an entry: who is third (d) is not held, so it must refill from Postgres.
    expect(top.complete).toBe(false);
    expect(top.apply([state("a", 30, 4)]).applied).toBe(0);
    expect(top.apply([state("a", 1, 5)]).applied).toBe(1);
  });

  it("keeps a held entry newer than the removed version, and stays complete when all are held", () => {
    const top = new TopSet("desc", 10);
    top.apply([state("a", 30, 6), state("b", 20)]);
    expect(top.remove([{ playerId: "a", version: 5 }]).applied).toBe(0);
    expect(ids(top)).toEqual(["a", "b"]);
    expect(
      top.remove([
        { playerId: "b", version: 1 },
        { playerId: "zz", version: 3 },
      ]).applied,
    ).toBe(1);
    expect(top.complete).toBe(true);
    expect(top.knownVersion("zz")).toBe(3);
  });

  it("runs again on a rebuild's snapshot that predates it", () => {
    const top = new TopSet("desc", 5);
    top.apply([state("a", 30, 2), state("b", 20)]);
    const journal = new RebuildJournal();
    journal.recordRemovals(top, [{ playerId: "a", version: 2 }]);
    top.remove([{ playerId: "a", version: 2 }]);
    // The snapshot was read before the removal committed: it still has a.
    journal.mergeInto(top, [state("a", 30, 2), state("b", 20)]);
    expect(ids(top)).toEqual(["b"]);
  });
});
