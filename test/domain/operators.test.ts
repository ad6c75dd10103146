import { describe, expect, it } from "vitest";
import type { ScoreEvent, ScoreOperator, ScoreRecord, SortOrder } from "../../src/domain";
import {
  applyOperator,
  isBetterScore,
  mergeBatch,
  recordAsEvent,
  SCORE_OPERATORS,
  SORT_ORDERS,
} from "../../src/domain";
import { makeRandom } from "./prng";

const ev = (score: number, occurredAt: number): ScoreEvent => ({ score, occurredAt });
const rec = (score: number, reachedAt: number): ScoreRecord => ({ score, reachedAt });

/**
 * Sequential application in occurredAt order; the stable sort keeps arrival order among equal
 * instants.
 */
function sequentialSorted(
  op: ScoreOperator,
  so: SortOrder,
  events: readonly ScoreEvent[],
  current?: ScoreRecord,
) {
  const sorted = [...events].sort((a, b) => a.occurredAt - b.occurredAt);
  let acc = current;
  for (const e of sorted) acc = applyOperator(op, so, acc, e);
  return acc;
}

/**
 * Closed-form reference for what a player's record should be after `events` (arrival order given).
 */
function closedForm(
  op: ScoreOperator,
  so: SortOrder,
  events: readonly ScoreEvent[],
  current?: ScoreRecord,
) {
  const all = current === undefined ? [...events] : [recordAsEvent(current), ...events];
  if (all.length === 0) return undefined;
  switch (op) {
    case "best": {
      const scores = all.map((e) => e.score);
      const best = so === "desc" ? Math.max(...scores) : Math.min(...scores);
      const reachedAt = Math.min(...all.filter((e) => e.score === best).map((e) => e.occurredAt));
      return rec(best, reachedAt);
    }
    case "latest": {
      const newest = Math.max(...all.map((e) => e.occurredAt));
      const first = all.find((e) => e.occurredAt === newest);
      return first === undefined ? undefined : rec(first.score, newest);
    }
    case "increment": {
      if (current === undefined) {
        return rec(
          events.reduce((s, e) => s + e.score, 0),
          Math.max(...events.map((e) => e.occurredAt)),
        );
      }
      return rec(
        current.score + events.reduce((s, e) => s + e.score, 0),
        Math.max(current.reachedAt, ...events.map((e) => e.occurredAt)),
      );
    }
  }
}

describe("isBetterScore", () => {
  it("is strict and follows the sort order", () => {
    expect(isBetterScore("desc", 5, 4)).toBe(true);
    expect(isBetterScore("desc", 4, 5)).toBe(false);
    expect(isBetterScore("desc", 5, 5)).toBe(false);
    expect(isBetterScore("asc", 4, 5)).toBe(true);
    expect(isBetterScore("asc", 5, 4)).toBe(false);
    expect(isBetterScore("asc", 5, 5)).toBe(false);
  });
});

describe("applyOperator: first event", () => {
  it.each(SCORE_OPERATORS.flatMap((op) => SORT_ORDERS.map((so) => [op, so] as const)))(
    "%s/%s creates the record",
    (op, so) => {
      expect(applyOperator(op, so, undefined, ev(-7, 1000))).toEqual(rec(-7, 1000));
    },
  );
});

describe("applyOperator: best", () => {
  it("keeps the greater score on desc boards and the smaller on asc boards", () => {
    expect(applyOperator("best", "desc", rec(10, 100), ev(12, 200))).toEqual(rec(12, 200));
    expect(applyOperator("best", "asc", rec(10, 100), ev(8, 200))).toEqual(rec(8, 200));
    // A worse late-arriving but earlier event still loses.
    expect(applyOperator("best", "desc", rec(10, 100), ev(9, 50))).toEqual(rec(10, 100));
    expect(applyOperator("best", "asc", rec(10, 100), ev(11, 50))).toEqual(rec(10, 100));
    // A better score wins regardless of when it happened.
    expect(applyOperator("best", "desc", rec(10, 100), ev(11, 50))).toEqual(rec(11, 50));
  });

  it("keeps the old reachedAt when an equal score arrives later", () => {
    const current = rec(10, 100);
    expect(applyOperator("best", "desc", current, ev(10, 200))).toBe(current);
    expect(applyOperator("best", "asc", current, ev(10, 200))).toBe(current);
  });

  it("moves reachedAt earlier when an equal score that happened earlier arrives late", () => {
    expect(applyOperator("best", "desc", rec(10, 100), ev(10, 40))).toEqual(rec(10, 40));
    expect(applyOperator("best", "asc", rec(10, 100), ev(10, 40))).toEqual(rec(10, 40));
  });

  it("returns the same object when nothing changes", () => {
    const current = rec(10, 100);
    expect(applyOperator("best", "desc", current, ev(3, 500))).toBe(current);
    expect(applyOperator("best", "desc", current, ev(10, 100))).toBe(current);
  });
});

describe("applyOperator: latest", () => {
  it("overwrites with a newer event, better or worse", () => {
    expect(applyOperator("latest", "desc", rec(10, 100), ev(3, 101))).toEqual(rec(3, 101));
    expect(applyOperator("latest", "asc", rec(10, 100), ev(30, 101))).toEqual(rec(30, 101));
    expect(applyOperator("latest", "desc", rec(10, 100), ev(10, 150))).toEqual(rec(10, 150));
  });

  it("ignores an older event that arrives late, and keeps the existing record on a tie", () => {
    const current = rec(10, 100);
    expect(applyOperator("latest", "desc", current, ev(99, 99))).toBe(current);
    expect(applyOperator("latest", "desc", current, ev(99, 100))).toBe(current);
    expect(applyOperator("latest", "asc", current, ev(-99, 100))).toBe(current);
  });

  it("ends on the newest event for out-of-order arrival", () => {
    const arrival = [ev(1, 10), ev(3, 30), ev(2, 20)];
    expect(mergeBatch("latest", "desc", arrival)).toEqual(rec(3, 30));
  });
});

describe("applyOperator: increment", () => {
  it("adds deltas (including negative) and keeps the newest occurredAt", () => {
    expect(applyOperator("increment", "desc", rec(10, 100), ev(5, 200))).toEqual(rec(15, 200));
    expect(applyOperator("increment", "desc", rec(10, 100), ev(5, 50))).toEqual(rec(15, 100));
    expect(applyOperator("increment", "asc", rec(10, 100), ev(-15, 120))).toEqual(rec(-5, 120));
  });

  it("returns the same object for a zero delta that does not advance time", () => {
    const current = rec(10, 100);
    expect(applyOperator("increment", "desc", current, ev(0, 100))).toBe(current);
    expect(applyOperator("increment", "desc", current, ev(0, 10))).toBe(current);
    expect(applyOperator("increment", "desc", current, ev(0, 101))).toEqual(rec(10, 101));
  });

  it("throws instead of losing precision past the safe-integer range", () => {
    expect(() =>
      applyOperator("increment", "desc", rec(Number.MAX_SAFE_INTEGER, 1), ev(1, 2)),
    ).toThrow(RangeError);
    expect(() =>
      applyOperator("increment", "desc", rec(Number.MIN_SAFE_INTEGER, 1), ev(-1, 2)),
    ).toThrow(RangeError);
    expect(
      applyOperator("increment", "desc", rec(Number.MAX_SAFE_INTEGER - 1, 1), ev(1, 2)),
    ).toEqual(rec(Number.MAX_SAFE_INTEGER, 2));
  });
});

describe("applyOperator: input validation", () => {
  it.each([
    ev(1.5, 0),
    ev(Number.NaN, 0),
    ev(Number.POSITIVE_INFINITY, 0),
    ev(2 ** 53, 0),
    ev(1, 0.5),
    ev(1, Number.NaN),
  ])("rejects %j", (event) => {
    for (const op of SCORE_OPERATORS) {
      expect(() => applyOperator(op, "desc", undefined, event)).toThrow(RangeError);
      expect(() => applyOperator(op, "desc", rec(0, 0), event)).toThrow(RangeError);
    }
  });
});

describe("mergeBatch", () => {
  it("returns current (or undefined) for an empty batch", () => {
    const current = rec(1, 2);
    for (const op of SCORE_OPERATORS) {
      expect(mergeBatch(op, "desc", [])).toBeUndefined();
      expect(mergeBatch(op, "desc", [], current)).toBe(current);
    }
  });

  it("keeps the earliest time among equal best scores whatever the arrival order", () => {
    const events = [ev(10, 300), ev(10, 100), ev(10, 200), ev(5, 50)];
    expect(mergeBatch("best", "desc", events)).toEqual(rec(10, 100));
    expect(mergeBatch("best", "desc", [...events].reverse())).toEqual(rec(10, 100));
    expect(mergeBatch("best", "asc", events)).toEqual(rec(5, 50));
  });

  it("sums increments and takes the newest time", () => {
    expect(
      mergeBatch("increment", "desc", [ev(1, 30), ev(2, 10), ev(-4, 20)], rec(100, 25)),
    ).toEqual(rec(99, 30));
  });

  it("accepts any iterable", () => {
    function* gen() {
      yield ev(1, 1);
      yield ev(2, 2);
    }
    expect(mergeBatch("increment", "desc", gen())).toEqual(rec(3, 2));
  });

  for (const op of SCORE_OPERATORS) {
    for (const so of SORT_ORDERS) {
      describe(`${op}/${so} randomized`, () => {
        // Narrow score and time ranges force plenty of equal scores and equal instants.
        const genEvents = (
          rnd: ReturnType<typeof makeRandom>,
          n: number,
          distinctTimes: boolean,
        ) => {
          const times = distinctTimes
            ? rnd.shuffle(Array.from({ length: n }, (_, i) => 1_000 + i * 7))
            : [];
          return Array.from({ length: n }, (_, i) =>
            ev(rnd.int(-5, 5), distinctTimes ? (times[i] as number) : rnd.int(1_000, 1_020)),
          );
        };
        const genCurrent = (rnd: ReturnType<typeof makeRandom>) =>
          rnd.next() < 0.3 ? undefined : rec(rnd.int(-5, 5), rnd.int(990, 1_030));

        it("equals sequential application in occurredAt order, and the closed form", () => {
          const rnd = makeRandom(op.length * 1000 + so.length);
          for (let i = 0; i < 2000; i += 1) {
            const events = genEvents(rnd, rnd.int(0, 12), false);
            const current = genCurrent(rnd);
            const merged = mergeBatch(op, so, events, current);
            expect(merged).toEqual(closedForm(op, so, events, current));
            if (op !== "latest") {
              expect(merged).toEqual(sequentialSorted(op, so, events, current));
            } else if (new Set(events.map((e) => e.occurredAt)).size === events.length) {
              // With distinct instants `latest` is fully order-independent as well.
              expect(merged).toEqual(sequentialSorted(op, so, events, current));
            }
          }
        });

        it("is order-independent (latest: when instants are distinct or tied events agree)", () => {
          const rnd = makeRandom(17 + op.length + so.length);
          for (let i = 0; i < 1000; i += 1) {
            const distinct = op === "latest";
            const events = genEvents(rnd, rnd.int(1, 12), distinct);
            const current = genCurrent(rnd);
            const expected = sequentialSorted(op, so, events, current);
            for (let k = 0; k < 4; k += 1) {
              expect(mergeBatch(op, so, rnd.shuffle(events), current)).toEqual(expected);
            }
          }
        });

        it("latest ties: the earlier arrival wins, as the upsert keeps the row already written", () => {
          if (op !== "latest") return;
          expect(mergeBatch(op, so, [ev(1, 50), ev(2, 50)])).toEqual(rec(1, 50));
          expect(mergeBatch(op, so, [ev(2, 50), ev(1, 50)])).toEqual(rec(2, 50));
          expect(mergeBatch(op, so, [ev(2, 50)], rec(1, 50))).toEqual(rec(1, 50));
        });

        it("pre-aggregated chunks applied as single events equal event-by-event application", () => {
          const rnd = makeRandom(4096 + op.length * 3 + so.length);
          for (let i = 0; i < 1000; i += 1) {
            const events = genEvents(rnd, rnd.int(1, 16), false);
            const current = genCurrent(rnd);
            const oneByOne = events.reduce<ScoreRecord | undefined>(
              (acc, e) => applyOperator(op, so, acc, e),
              current,
            );
            // Split arrival order into consecutive chunks (queue batches), merge each, upsert each
            // aggregate.
            let acc = current;
            let start = 0;
            while (start < events.length) {
              const end = Math.min(events.length, start + rnd.int(1, 5));
              const aggregate = mergeBatch(op, so, events.slice(start, end));
              if (aggregate === undefined) throw new Error("non-empty chunk merged to nothing");
              acc = applyOperator(op, so, acc, recordAsEvent(aggregate));
              start = end;
            }
            expect(acc).toEqual(oneByOne);
          }
        });

        it('signals "no change" by identity exactly when the record is unchanged', () => {
          const rnd = makeRandom(555 + op.length + so.length);
          for (let i = 0; i < 2000; i += 1) {
            const current = rec(rnd.int(-3, 3), rnd.int(1_000, 1_006));
            const result = applyOperator(
              op,
              so,
              current,
              ev(rnd.int(-3, 3), rnd.int(1_000, 1_006)),
            );
            const same = result.score === current.score && result.reachedAt === current.reachedAt;
            expect(result === current).toBe(same);
          }
        });
      });
    }
  }
});
