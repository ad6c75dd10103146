import { describe, expect, it } from "vitest";
import { type CheckCandidate, pickChecks } from "../../../src/services/projection/rank-check";

/** 20 ready board-periods, b0 written longest ago, b19 most recently. */
const candidates: CheckCandidate[] = Array.from({ length: 20 }, (_, i) => ({
  boardId: `b${i}`,
  periodKey: "all",
  at: 1_000 + i,
  players: 10,
}));
const ids = (picked: CheckCandidate[]) => picked.map((c) => c.boardId);

describe("which ready board-periods a reconciliation run compares with Postgres", () => {
  it("at most perRun: the most recently written first, the rest rotating by the run's minute", () => {
    const first = pickChecks(candidates, { perRun: 4, hot: 2, slot: 0 });
    expect(ids(first)).toEqual(["b19", "b18", "b0", "b1"]);
    expect(ids(pickChecks(candidates, { perRun: 4, hot: 2, slot: 1 }))).toEqual([
      "b19",
      "b18",
      "b2",
      "b3",
    ]);
  });

  it("every board-period is checked within ceil(n / (perRun - hot)) runs", () => {
    const seen = new Set<string>();
    for (let slot = 1_000; slot < 1_010; slot += 1)
      for (const c of pickChecks(candidates, { perRun: 4, hot: 2, slot })) seen.add(c.boardId);
    expect(seen.size).toBe(20);
  });

  it("boards named first come before the others, within the same bound", () => {
    const picked = pickChecks(candidates, { perRun: 3, hot: 2, slot: 0, first: new Set(["b7"]) });
    expect(ids(picked)).toEqual(["b7", "b19", "b18"]);
    expect(pickChecks(candidates, { perRun: 0, hot: 2, slot: 0 })).toEqual([]);
    expect(pickChecks([], { perRun: 8, hot: 4, slot: 5 })).toEqual([]);
  });
});
