import { describe, expect, it } from "vitest";
import type { PageCursor, RankedEntry, SortOrder } from "../../src/domain";
import {
  compareEntries,
  decodeCursor,
  encodeCursor,
  isAfterCursor,
  percentile,
  rankOf,
  SORT_ORDERS,
} from "../../src/domain";
import { makeRandom } from "./prng";

const entry = (playerId: string, score: number, reachedAt: number): RankedEntry => ({
  playerId,
  score,
  reachedAt,
});

/**
 * Reference order: sort key tuple (score made "smaller is better", reachedAt, playerId by code
 * units).
 */
function referenceSort(entries: readonly RankedEntry[], so: SortOrder): RankedEntry[] {
  const key = (e: RankedEntry) => [so === "desc" ? -e.score : e.score, e.reachedAt] as const;
  return [...entries].sort((a, b) => {
    const [as, at] = key(a);
    const [bs, bt] = key(b);
    if (as !== bs) return as - bs;
    if (at !== bt) return at - bt;
    // Explicit code-unit comparison, written differently from the implementation.
    const n = Math.min(a.playerId.length, b.playerId.length);
    for (let i = 0; i < n; i += 1) {
      const d = a.playerId.charCodeAt(i) - b.playerId.charCodeAt(i);
      if (d !== 0) return d;
    }
    return a.playerId.length - b.playerId.length;
  });
}

const ANY_ALPHABET = ["a", "b", "B", "Z", "0", "_", "-", "é", "😀"];
/** The characters the API allows in player ids (and so in cursors). */
const API_ALPHABET = ["a", "b", "B", "Z", "0", "_", "-", ":", "|", "@", "."];

function randomEntries(
  rnd: ReturnType<typeof makeRandom>,
  n: number,
  alphabet = ANY_ALPHABET,
): RankedEntry[] {
  const ids = new Set<string>();
  while (ids.size < n) {
    let id = "";
    const len = rnd.int(1, 4);
    for (let i = 0; i < len; i += 1) id += rnd.pick(alphabet);
    ids.add(id);
  }
  return [...ids].map((id) => entry(id, rnd.int(-3, 3), rnd.int(0, 4)));
}

describe("compareEntries", () => {
  it("orders by score, then earlier reachedAt, then playerId ascending", () => {
    const entries = [
      entry("c", 10, 5),
      entry("b", 10, 5),
      entry("a", 10, 7),
      entry("z", 20, 9),
      entry("y", 5, 1),
    ];
    expect([...entries].sort(compareEntries("desc")).map((e) => e.playerId)).toEqual([
      "z",
      "b",
      "c",
      "a",
      "y",
    ]);
    expect([...entries].sort(compareEntries("asc")).map((e) => e.playerId)).toEqual([
      "y",
      "b",
      "c",
      "a",
      "z",
    ]);
  });

  it("uses code-unit order for ids, not locale order", () => {
    const entries = [
      entry("b", 1, 1),
      entry("B", 1, 1),
      entry("a", 1, 1),
      entry("A", 1, 1),
      entry("_", 1, 1),
    ];
    expect([...entries].sort(compareEntries("desc")).map((e) => e.playerId)).toEqual([
      "A",
      "B",
      "_",
      "a",
      "b",
    ]);
  });

  it("returns 0 only for identical keys and is antisymmetric", () => {
    const rnd = makeRandom(1);
    for (const so of SORT_ORDERS) {
      const cmp = compareEntries(so);
      for (let i = 0; i < 3000; i += 1) {
        const [a, b] = randomEntries(rnd, 2) as [RankedEntry, RankedEntry];
        const alsoA = rnd.next() < 0.2 ? { ...a } : b;
        expect(Math.sign(cmp(a, alsoA)) + Math.sign(cmp(alsoA, a))).toBe(0);
        expect(cmp(a, alsoA) === 0).toBe(
          a.playerId === alsoA.playerId &&
            a.score === alsoA.score &&
            a.reachedAt === alsoA.reachedAt,
        );
      }
    }
  });

  it("sorts like the reference on random boards (many ties)", () => {
    const rnd = makeRandom(2);
    for (const so of SORT_ORDERS) {
      for (let i = 0; i < 300; i += 1) {
        const entries = randomEntries(rnd, rnd.int(0, 40));
        expect(rnd.shuffle(entries).sort(compareEntries(so))).toEqual(referenceSort(entries, so));
      }
    }
  });
});

describe("rankOf", () => {
  it("is 1-based, null for unknown players", () => {
    const entries = [entry("a", 10, 2), entry("b", 10, 1), entry("c", 30, 3)];
    expect(rankOf(entries, "c", "desc")).toBe(1);
    expect(rankOf(entries, "b", "desc")).toBe(2);
    expect(rankOf(entries, "a", "desc")).toBe(3);
    expect(rankOf(entries, "b", "asc")).toBe(1);
    expect(rankOf(entries, "c", "asc")).toBe(3);
    expect(rankOf(entries, "nobody", "desc")).toBeNull();
    expect(rankOf([], "a", "desc")).toBeNull();
  });

  it("matches the position in the sorted list (random)", () => {
    const rnd = makeRandom(3);
    for (const so of SORT_ORDERS) {
      for (let i = 0; i < 200; i += 1) {
        const entries = randomEntries(rnd, rnd.int(1, 30));
        const sorted = referenceSort(entries, so);
        sorted.forEach((e, index) => {
          expect(rankOf(entries, e.playerId, so)).toBe(index + 1);
        });
      }
    }
  });
});

describe("percentile", () => {
  it("follows (total - rank + 1) / total * 100", () => {
    expect(percentile(1, 100)).toBe(100);
    expect(percentile(100, 100)).toBe(1);
    expect(percentile(50, 100)).toBe(51);
    expect(percentile(1, 1)).toBe(100);
    expect(percentile(2, 4)).toBe(75);
    expect(percentile(2, 3)).toBeCloseTo(66.6667, 3);
  });

  it("is monotonic: a better rank never has a lower percentile", () => {
    for (let total = 1; total <= 60; total += 1) {
      for (let rank = 2; rank <= total; rank += 1) {
        expect(percentile(rank - 1, total)).toBeGreaterThan(percentile(rank, total));
      }
      expect(percentile(total, total)).toBeGreaterThan(0);
    }
  });

  it.each([
    [0, 10],
    [11, 10],
    [1, 0],
    [1.5, 10],
    [1, Number.NaN],
    [-1, 10],
  ])("rejects rank %s of %s", (rank, total) => {
    expect(() => percentile(rank, total)).toThrow(RangeError);
  });
});

describe("cursors", () => {
  const sample: PageCursor = {
    period: "2026-W47",
    score: 1234,
    reachedAt: 1_763_800_000_000,
    playerId: "player-1",
  };

  it("round-trips and is URL-safe", () => {
    const raw = encodeCursor(sample);
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(raw)).toEqual(sample);
  });

  it("round-trips random cursors, including unicode ids and extreme numbers", () => {
    const rnd = makeRandom(5);
    const ids = ["a", "a:b|c@d.e", "_-.", "Z9", "x".repeat(128)];
    const numbers = [0, -1, 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const times = [0, 1, 9_999_999_999_999];
    for (let i = 0; i < 500; i += 1) {
      const cursor: PageCursor = {
        period: rnd.pick(["all", "2026-11-22", "2026-W53", "2026-11"]),
        score: rnd.next() < 0.3 ? rnd.pick(numbers) : rnd.int(-1e9, 1e9),
        reachedAt: rnd.next() < 0.3 ? rnd.pick(times) : rnd.int(0, 2e12),
        playerId: rnd.pick(ids),
      };
      const raw = encodeCursor(cursor);
      expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(raw)).toEqual(cursor);
    }
  });

  /** base64url of a latin-1 string, to hand-craft byte payloads. */
  const b64 = (text: string) =>
    btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  it.each([
    ["empty", ""],
    ["not base64", "!!!!"],
    ["bad length", "abcde"],
    ["padding", `${encodeCursor(sample)}==`],
    ["plain text", b64("hello")],
    ["json object", b64(JSON.stringify(sample))],
    ["wrong version", b64(JSON.stringify([2, "2026-W47", 1, 2, "p"]))],
    ["too few fields", b64(JSON.stringify([1, "2026-W47", 1, 2]))],
    ["too many fields", b64(JSON.stringify([1, "2026-W47", 1, 2, "p", "x"]))],
    ["float score", b64(JSON.stringify([1, "2026-W47", 1.5, 2, "p"]))],
    ["string score", b64(JSON.stringify([1, "2026-W47", "1", 2, "p"]))],
    ["unsafe score", b64('[1,"2026-W47",9007199254740993,2,"p"]')],
    ["float time", b64(JSON.stringify([1, "2026-W47", 1, 2.5, "p"]))],
    ["empty player", b64(JSON.stringify([1, "2026-W47", 1, 2, ""]))],
    ["long player", b64(JSON.stringify([1, "2026-W47", 1, 2, "x".repeat(129)]))],
    ["player outside the API's characters", b64(JSON.stringify([1, "2026-W47", 1, 2, "p q"]))],
    ["unicode player", b64(JSON.stringify([1, "2026-W47", 1, 2, "ü"]))],
    ["NUL in player", b64(JSON.stringify([1, "2026-W47", 1, 2, "a\u0000"]))],
    ["negative time", b64(JSON.stringify([1, "2026-W47", 1, -1, "p"]))],
    ["time past 13 digits", b64(JSON.stringify([1, "2026-W47", 1, 10_000_000_000_000, "p"]))],
    ["numeric player", b64(JSON.stringify([1, "2026-W47", 1, 2, 7]))],
    ["empty period", b64(JSON.stringify([1, "", 1, 2, "p"]))],
    ["null period", b64(JSON.stringify([1, null, 1, 2, "p"]))],
    ["non-canonical json", b64('[1, "2026-W47", 1, 2, "p"]')],
    ["invalid utf-8", b64('[1,"\xff",1,2,"p"]')],
    ["too long", "A".repeat(2000)],
  ])("rejects %s", (_name, raw) => {
    expect(decodeCursor(raw)).toBeNull();
  });

  it("never throws on random garbage", () => {
    const rnd = makeRandom(6);
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .%";
    const valid = encodeCursor(sample);
    for (let i = 0; i < 3000; i += 1) {
      let raw = "";
      if (rnd.next() < 0.5) {
        const len = rnd.int(0, 80);
        for (let j = 0; j < len; j += 1) raw += rnd.pick([...chars]);
      } else {
        // Flip one character of a valid cursor.
        const pos = rnd.int(0, valid.length - 1);
        raw = valid.slice(0, pos) + rnd.pick([...chars]) + valid.slice(pos + 1);
      }
      const decoded = decodeCursor(raw);
      if (decoded !== null) expect(encodeCursor(decoded)).toBe(raw);
    }
  });

  it("drives keyset pagination without repeats or gaps (random)", () => {
    const rnd = makeRandom(7);
    for (const so of SORT_ORDERS) {
      for (let i = 0; i < 100; i += 1) {
        const entries = randomEntries(rnd, rnd.int(0, 40), API_ALPHABET);
        const expected = referenceSort(entries, so);
        const pageSize = rnd.int(1, 7);
        const seen: RankedEntry[] = [];
        let cursor: PageCursor | null = null;
        for (let guard = 0; guard < 100; guard += 1) {
          const after: PageCursor | null = cursor;
          const page = expected
            .filter((e) => after === null || isAfterCursor(so, e, after))
            .slice(0, pageSize);
          seen.push(...page);
          const last = page[page.length - 1];
          if (page.length < pageSize || last === undefined) break;
          cursor = decodeCursor(encodeCursor({ period: "all", ...last }));
          expect(cursor).not.toBeNull();
        }
        expect(seen).toEqual(expected);
      }
    }
  });
});
