import { describe, expect, it } from "vitest";
import {
  ALL_TIME_KEY,
  DEFAULT_PAST_PERIOD_DAYS,
  PERIOD_KINDS,
  parsePastPeriodDays,
  pastPeriodExpiryMs,
  periodKey,
  periodKindOfKey,
  periodRange,
} from "../../src/domain";
import { makeRandom } from "./prng";

const DAY = 86_400_000;

describe("periodKindOfKey", () => {
  it("names the kind of every key periodKey makes, in any zone and week start", () => {
    const rnd = makeRandom(7);
    for (let i = 0; i < 500; i += 1) {
      const instant = new Date(rnd.int(Date.UTC(1990, 0, 1), Date.UTC(2090, 0, 1)));
      const zone = rnd.pick(["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"]);
      const weekStart = rnd.pick(["monday", "sunday"] as const);
      for (const kind of PERIOD_KINDS)
        expect(periodKindOfKey(periodKey(kind, instant, zone, weekStart))).toBe(kind);
    }
  });

  it("names nothing for a key no period has", () => {
    for (const key of [
      "",
      "ALL",
      "2026-12-1",
      "2026-W4",
      "2026-w49",
      "26-12",
      "2026-12-01T00",
      "daily",
    ]) {
      expect(periodKindOfKey(key), key).toBeNull();
    }
  });
});

describe("pastPeriodExpiryMs", () => {
  const utc = { timeZone: "UTC", weekStart: "monday" as const };

  it("is the period's end in the board's zone plus the days kept", () => {
    expect(pastPeriodExpiryMs(utc, "2026-12-01", 7)).toBe(Date.UTC(2026, 11, 2) + 7 * DAY);
    expect(pastPeriodExpiryMs(utc, "2026-12", 0)).toBe(Date.UTC(2027, 0, 1));
    // ISO week 49 of 2026 runs Monday Nov 30 to Sunday Dec 6.
    expect(pastPeriodExpiryMs(utc, "2026-W49", 1.5)).toBe(Date.UTC(2026, 11, 7) + 1.5 * DAY);
    const tokyo = { timeZone: "Asia/Tokyo", weekStart: "monday" as const };
    expect(pastPeriodExpiryMs(tokyo, "2026-12-01", 0)).toBe(Date.UTC(2026, 11, 1, 15));
  });

  it("follows the board's week start and agrees with periodRange", () => {
    for (const weekStart of ["monday", "sunday"] as const) {
      const board = { timeZone: "America/New_York", weekStart };
      const range = periodRange("weekly", "2026-W49", board.timeZone, weekStart);
      expect(pastPeriodExpiryMs(board, "2026-W49", 3)).toBe(
        (range?.end.getTime() ?? Number.NaN) + 3 * DAY,
      );
    }
    expect(pastPeriodExpiryMs({ timeZone: "UTC", weekStart: "sunday" }, "2026-W49", 0)).toBe(
      Date.UTC(2026, 11, 6),
    );
  });

  it("never expires the all-time period, and has nothing for a key that names no period", () => {
    expect(pastPeriodExpiryMs(utc, ALL_TIME_KEY, 7)).toBeNull();
    expect(pastPeriodExpiryMs(utc, "2026-02-30", 7)).toBeNull();
    expect(pastPeriodExpiryMs(utc, "nope", 7)).toBeNull();
  });
});

describe("parsePastPeriodDays", () => {
  it("reads days, with the default when unset", () => {
    expect(parsePastPeriodDays(undefined)).toBe(DEFAULT_PAST_PERIOD_DAYS);
    expect(parsePastPeriodDays(" ")).toBe(DEFAULT_PAST_PERIOD_DAYS);
    expect(parsePastPeriodDays("0")).toBe(0);
    expect(parsePastPeriodDays("30")).toBe(30);
    expect(parsePastPeriodDays("0.5")).toBe(0.5);
  });

  it("refuses what is not a number of days, saying where to fix it", () => {
    for (const value of ["-1", "seven", "Infinity", "7d"]) {
      expect(() => parsePastPeriodDays(value), value).toThrow(
        /REDIS_PAST_PERIOD_DAYS.*wrangler\.toml/,
      );
    }
    expect(() => parsePastPeriodDays("-2", "OBJECT_PAST_PERIOD_DAYS")).toThrow(
      /^OBJECT_PAST_PERIOD_DAYS must be/,
    );
  });
});
