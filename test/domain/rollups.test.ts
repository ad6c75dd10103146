import { describe, expect, it } from "vitest";
import {
  bucketStart,
  parseRollupBounds,
  rollupFreshness,
  statsRangeProblem,
} from "../../src/domain";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => new Date(iso);

describe("rollup rules", () => {
  it("reads the bounds from the vars, with defaults, and refuses a typo", () => {
    expect(parseRollupBounds({})).toEqual({ maxRows: 1_000_000, maxSeconds: 60 });
    expect(parseRollupBounds({ ROLLUP_MAX_ROWS: "5000", ROLLUP_MAX_SECONDS: "2.5" })).toEqual({
      maxRows: 5000,
      maxSeconds: 2.5,
    });
    expect(parseRollupBounds({ ROLLUP_MAX_ROWS: " " }).maxRows).toBe(1_000_000);
    for (const bad of ["0", "-1", "lots", "Infinity"])
      expect(() => parseRollupBounds({ ROLLUP_MAX_ROWS: bad }), bad).toThrow(/ROLLUP_MAX_ROWS/);
    expect(() => parseRollupBounds({ ROLLUP_MAX_SECONDS: "0" })).toThrow(/ROLLUP_MAX_SECONDS/);
  });

  it("bounds a stats range by its granularity and refuses one that runs backwards", () => {
    const to = at("2026-12-04T12:00:00Z");
    const earlier = (ms: number) => new Date(to.getTime() - ms);
    expect(statsRangeProblem("hour", earlier(31 * DAY), to)).toBeNull();
    expect(statsRangeProblem("hour", earlier(31 * DAY + 1), to)).toMatch(/at most 31 days/);
    expect(statsRangeProblem("day", earlier(400 * DAY), to)).toBeNull();
    expect(statsRangeProblem("day", earlier(400 * DAY + 1), to)).toMatch(/at most 400 days/);
    expect(statsRangeProblem("hour", to, to)).toBeNull();
    expect(statsRangeProblem("hour", new Date(to.getTime() + 1), to)).toMatch(/after/);
  });

  it("states freshness by bucket: the partial one, and the ones late events can still reach", () => {
    const rolled = at("2026-12-04T12:34:56.789Z");
    expect(bucketStart("hour", rolled)).toEqual(at("2026-12-04T12:00:00Z"));
    expect(bucketStart("day", rolled)).toEqual(at("2026-12-04T00:00:00Z"));
    expect(rollupFreshness("hour", rolled, 7 * DAY)).toEqual({
      rolledUpTo: rolled,
      partialFrom: at("2026-12-04T12:00:00Z"),
      openFrom: at("2026-11-27T12:00:00Z"),
    });
    expect(rollupFreshness("day", rolled, 7 * DAY).openFrom).toEqual(at("2026-11-27T00:00:00Z"));
    expect(rollupFreshness("day", null, 7 * DAY)).toEqual({
      rolledUpTo: null,
      partialFrom: null,
      openFrom: null,
    });
  });
});
