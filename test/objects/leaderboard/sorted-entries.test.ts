import { describe, expect, it } from "vitest";
import { compareEntries, SORT_ORDERS } from "../../../src/domain";
import {
  compareKeys,
  countAtOrAhead,
  type HeldEntry,
  indexOfKey,
  insertSorted,
  lowerBound,
  removeSorted,
  type SortKey,
  toSortScore,
  upperBound,
} from "../../../src/objects/leaderboard/sorted-entries";
import { makeRandom } from "../../domain/prng";

function entry(
  sortOrder: "desc" | "asc",
  playerId: string,
  score: number,
  reachedAt: number,
): HeldEntry {
  return {
    playerId,
    score,
    reachedAt,
    sortScore: toSortScore(sortOrder, score),
    version: 1,
    displayName: null,
    metadata: null,
  };
}

function randomEntries(seed: number, sortOrder: "desc" | "asc", n: number): HeldEntry[] {
  const random = makeRandom(seed);
  const ids = ["a", "b", "B", "aa", "a-1", "z", "é", "\u{1F600}", "p1", "p10", "p2"];
  const seen = new Set<string>();
  const out: HeldEntry[] = [];
  while (out.length < n) {
    const id = `${random.pick(ids)}${random.int(0, 50)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(entry(sortOrder, id, random.int(-5, 5), random.int(0, 3)));
  }
  return out;
}

describe("sorted-entries", () => {
  it("toSortScore negates on desc boards without producing -0", () => {
    expect(toSortScore("desc", 7)).toBe(-7);
    expect(toSortScore("asc", 7)).toBe(7);
    expect(Object.is(toSortScore("desc", 0), 0)).toBe(true);
  });

  it("compareKeys agrees with the domain comparator on both sort orders", () => {
    for (const sortOrder of SORT_ORDERS) {
      const domain = compareEntries(sortOrder);
      const entries = randomEntries(11, sortOrder, 60);
      for (const a of entries) {
        for (const b of entries) {
          expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(domain(a, b)));
        }
      }
    }
  });

  it("lowerBound/upperBound/countAtOrAhead match a linear scan", () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const entries = randomEntries(seed, "desc", 40).sort(compareKeys);
      const random = makeRandom(seed * 7);
      for (let k = 0; k < 30; k += 1) {
        const probe: SortKey = {
          sortScore: random.int(-6, 6),
          reachedAt: random.int(-1, 4),
          playerId: `${random.pick(["a", "p1", "z"])}${random.int(0, 50)}`,
        };
        expect(lowerBound(entries, probe)).toBe(
          entries.filter((e) => compareKeys(e, probe) < 0).length,
        );
        expect(upperBound(entries, probe)).toBe(
          entries.filter((e) => compareKeys(e, probe) <= 0).length,
        );
        expect(countAtOrAhead(entries, probe.sortScore)).toBe(
          entries.filter((e) => e.sortScore <= probe.sortScore).length,
        );
      }
    }
  });

  it("insertSorted and removeSorted keep the array equal to a full sort", () => {
    for (let seed = 1; seed <= 10; seed += 1) {
      const random = makeRandom(seed);
      const pool = randomEntries(seed + 100, "asc", 80);
      const held: HeldEntry[] = [];
      const present = new Map<string, HeldEntry>();
      for (let step = 0; step < 400; step += 1) {
        const candidate = random.pick(pool);
        const current = present.get(candidate.playerId);
        if (current !== undefined) {
          expect(removeSorted(held, current)).toBeGreaterThanOrEqual(0);
          present.delete(candidate.playerId);
        } else {
          const moved = entry("asc", candidate.playerId, random.int(-5, 5), random.int(0, 3));
          const index = insertSorted(held, moved);
          expect(held[index]).toBe(moved);
          present.set(moved.playerId, moved);
        }
        expect(held).toEqual([...present.values()].sort(compareKeys));
      }
      for (const e of held) expect(indexOfKey(held, e)).toBe(held.indexOf(e));
      expect(removeSorted(held, { sortScore: 99, reachedAt: 0, playerId: "missing" })).toBe(-1);
    }
  });
});
