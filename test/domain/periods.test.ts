import { describe, expect, it } from "vitest";
import type { PeriodKind, WeekStart } from "../../src/domain";
import {
  currentPeriodKey,
  isValidPeriodKey,
  isValidTimeZone,
  nextPeriodKey,
  parsePeriodKey,
  periodKey,
  periodKeysFor,
  periodRange,
  previousPeriodKey,
  resolvePeriodKey,
} from "../../src/domain";
import { makeRandom } from "./prng";

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Zones chosen for awkward offsets and DST rules, plus plain UTC. */
const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "Europe/London",
  "Australia/Lord_Howe", // 30-minute DST
  "Asia/Kathmandu", // +05:45
  "Pacific/Chatham", // +12:45 / +13:45
  "America/Santiago", // DST jumps at midnight: local 00:00 skipped
  "America/Havana", // DST at midnight
  "Asia/Beirut", // DST at midnight
  "Antarctica/Troll", // two-hour DST
  "America/St_Johns", // -03:30 / -02:30
  "Asia/Kolkata",
  "Pacific/Kiritimati", // +14
  "Pacific/Pago_Pago", // -11
  "Asia/Tokyo",
] as const;

const WEEK_STARTS: readonly WeekStart[] = ["monday", "sunday"];
const KINDS: readonly PeriodKind[] = ["daily", "weekly", "monthly"];

// ---------------------------------------------------------------------------
// Brute-force references, deliberately built differently from the code under
// test: a different Intl locale/options for the local date, and calendar
// walking with UTC Date objects for ISO weeks.
// ---------------------------------------------------------------------------

const refFormatters = new Map<string, Intl.DateTimeFormat>();
function refLocalDate(instantMs: number, timeZone: string): { y: number; m: number; d: number } {
  let f = refFormatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    refFormatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(instantMs).map((p) => [p.type, p.value]));
  return { y: Number(parts.year), m: Number(parts.month), d: Number(parts.day) };
}

function utcDate(y: number, m: number, d: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return date;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

const refWeekCache = new Map<number, { year: number; week: number }>();

/**
 * ISO week by walking: back to Monday, Thursday decides the year, count weeks back to that year's
 * start.
 */
function refIsoWeek(date: Date): { year: number; week: number } {
  const cached = refWeekCache.get(date.getTime());
  if (cached !== undefined) return cached;
  const computed = refIsoWeekUncached(date);
  refWeekCache.set(date.getTime(), computed);
  return computed;
}

function refIsoWeekUncached(date: Date): { year: number; week: number } {
  let day = new Date(date.getTime());
  while (day.getUTCDay() !== 1) day = new Date(day.getTime() - DAY);
  let thursday = new Date(day.getTime() + 3 * DAY);
  const year = thursday.getUTCFullYear();
  let week = 1;
  while (new Date(thursday.getTime() - 7 * DAY).getUTCFullYear() === year) {
    thursday = new Date(thursday.getTime() - 7 * DAY);
    week += 1;
  }
  return { year, week };
}

function refKey(
  kind: PeriodKind,
  instantMs: number,
  timeZone: string,
  weekStart: WeekStart,
): string {
  const { y, m, d } = refLocalDate(instantMs, timeZone);
  switch (kind) {
    case "all":
      return "all";
    case "daily":
      return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
    case "monthly":
      return `${pad(y, 4)}-${pad(m, 2)}`;
    case "weekly": {
      // Documented rule: Sunday-start weeks take the ISO week of the next day.
      let date = utcDate(y, m, d);
      if (weekStart === "sunday") date = new Date(date.getTime() + DAY);
      const { year, week } = refIsoWeek(date);
      return `${pad(year, 4)}-W${pad(week, 2)}`;
    }
  }
}

/** Brute-force "does this ISO year have 53 weeks": Dec 28 is always in the last week. */
function refHas53Weeks(year: number): boolean {
  return refIsoWeek(utcDate(year, 12, 28)).week === 53;
}

const at = (iso: string) => new Date(iso);

describe("periodKey: fixed cases", () => {
  it("formats all four kinds", () => {
    const t = at("2026-11-22T12:00:00Z");
    expect(periodKey("all", t, "UTC", "monday")).toBe("all");
    expect(periodKey("daily", t, "UTC", "monday")).toBe("2026-11-22");
    expect(periodKey("weekly", t, "UTC", "monday")).toBe("2026-W47");
    expect(periodKey("monthly", t, "UTC", "monday")).toBe("2026-11");
  });

  it("puts Sunday 2026-11-22 in W47 for monday weeks and in W48 for sunday weeks", () => {
    expect(at("2026-11-22T00:00:00Z").getUTCDay()).toBe(0);
    expect(periodKey("weekly", at("2026-11-22T12:00:00Z"), "UTC", "monday")).toBe("2026-W47");
    expect(periodKey("weekly", at("2026-11-22T12:00:00Z"), "UTC", "sunday")).toBe("2026-W48");
    // Sunday-start week Sun 22 .. Sat 28 is all W48; Sun 29 starts W49.
    for (let d = 22; d <= 28; d += 1) {
      expect(periodKey("weekly", at(`2026-11-${d}T12:00:00Z`), "UTC", "sunday")).toBe("2026-W48");
    }
    expect(periodKey("weekly", at("2026-11-29T00:00:00Z"), "UTC", "sunday")).toBe("2026-W49");
    expect(periodKey("weekly", at("2026-11-21T23:59:59.999Z"), "UTC", "sunday")).toBe("2026-W47");
    // Monday-start: Mon 16 .. Sun 22 is W47, Mon 23 is W48.
    expect(periodKey("weekly", at("2026-11-16T00:00:00Z"), "UTC", "monday")).toBe("2026-W47");
    expect(periodKey("weekly", at("2026-11-22T23:59:59.999Z"), "UTC", "monday")).toBe("2026-W47");
    expect(periodKey("weekly", at("2026-11-23T00:00:00Z"), "UTC", "monday")).toBe("2026-W48");
  });

  it("switches day exactly at local midnight in a non-UTC zone", () => {
    // Europe/Berlin is UTC+1 in November.
    const tz = "Europe/Berlin";
    expect(periodKey("daily", at("2026-11-22T22:59:59.999Z"), tz, "monday")).toBe("2026-11-22");
    expect(periodKey("daily", at("2026-11-22T23:00:00.000Z"), tz, "monday")).toBe("2026-11-23");
    expect(periodKey("weekly", at("2026-11-22T22:59:59.999Z"), tz, "monday")).toBe("2026-W47");
    expect(periodKey("weekly", at("2026-11-22T23:00:00.000Z"), tz, "monday")).toBe("2026-W48");
    expect(periodKey("weekly", at("2026-11-21T22:59:59.999Z"), tz, "sunday")).toBe("2026-W47");
    expect(periodKey("weekly", at("2026-11-21T23:00:00.000Z"), tz, "sunday")).toBe("2026-W48");
    // Same UTC instant, different calendar day depending on zone.
    const t = at("2026-11-22T20:00:00Z");
    expect(periodKey("daily", t, "America/New_York", "monday")).toBe("2026-11-22");
    expect(periodKey("daily", t, "Asia/Tokyo", "monday")).toBe("2026-11-23");
    expect(periodKey("daily", at("2026-11-22T18:14:59.999Z"), "Asia/Kathmandu", "monday")).toBe(
      "2026-11-22",
    );
    expect(periodKey("daily", at("2026-11-22T18:15:00.000Z"), "Asia/Kathmandu", "monday")).toBe(
      "2026-11-23",
    );
  });

  it("handles month ends, leap days and year ends", () => {
    const k = (iso: string, kind: PeriodKind = "daily") =>
      periodKey(kind, at(iso), "UTC", "monday");
    expect(k("2026-02-28T23:59:59.999Z")).toBe("2026-02-28");
    expect(k("2026-03-01T00:00:00Z")).toBe("2026-03-01");
    expect(k("2028-02-29T12:00:00Z")).toBe("2028-02-29");
    expect(k("2028-02-29T12:00:00Z", "monthly")).toBe("2028-02");
    expect(k("2028-03-01T00:00:00Z", "monthly")).toBe("2028-03");
    expect(k("2026-12-31T23:59:59.999Z", "monthly")).toBe("2026-12");
    expect(k("2027-01-01T00:00:00Z", "monthly")).toBe("2027-01");
  });

  it("crosses into ISO week 53 of 2026 and out into 2027-W01", () => {
    const wk = (iso: string, ws: WeekStart) =>
      periodKey("weekly", at(`${iso}T12:00:00Z`), "UTC", ws);
    expect(wk("2026-12-27", "monday")).toBe("2026-W52"); // Sunday
    expect(wk("2026-12-28", "monday")).toBe("2026-W53");
    expect(wk("2026-12-31", "monday")).toBe("2026-W53");
    expect(wk("2027-01-01", "monday")).toBe("2026-W53"); // Friday, still ISO year 2026
    expect(wk("2027-01-03", "monday")).toBe("2026-W53");
    expect(wk("2027-01-04", "monday")).toBe("2027-W01");
    expect(wk("2026-12-26", "sunday")).toBe("2026-W52"); // Saturday
    expect(wk("2026-12-27", "sunday")).toBe("2026-W53"); // Sunday opens W53
    expect(wk("2027-01-02", "sunday")).toBe("2026-W53");
    expect(wk("2027-01-03", "sunday")).toBe("2027-W01");
    // Early January belonging to the previous ISO year, and late December to the next.
    expect(wk("2021-01-03", "monday")).toBe("2020-W53");
    expect(wk("2024-12-30", "monday")).toBe("2025-W01");
    expect(wk("2024-12-29", "sunday")).toBe("2025-W01");
  });

  it("zero-pads and limits years to 0001..9999", () => {
    expect(periodKey("daily", at("0987-03-04T12:00:00Z"), "UTC", "monday")).toBe("0987-03-04");
    expect(periodKey("monthly", at("0001-01-01T00:00:00Z"), "UTC", "monday")).toBe("0001-01");
    expect(periodKey("weekly", at("0001-01-01T00:00:00Z"), "UTC", "monday")).toBe("0001-W01");
    expect(periodKey("daily", at("9999-12-31T23:59:59.999Z"), "UTC", "monday")).toBe("9999-12-31");
    expect(periodKey("weekly", at("9999-12-31T23:59:59.999Z"), "UTC", "sunday")).toBe("9999-W52");
    const beforeYearOne = new Date(at("0001-01-01T00:00:00Z").getTime() - 1);
    expect(() => periodKey("daily", beforeYearOne, "UTC", "monday")).toThrow(RangeError);
    expect(() => periodKey("daily", at("+010000-01-01T00:00:00Z"), "UTC", "monday")).toThrow(
      RangeError,
    );
    // Year 0001 in UTC is year 0 (1 BC) a few hours west.
    expect(() =>
      periodKey("daily", at("0001-01-01T02:00:00Z"), "America/New_York", "monday"),
    ).toThrow(RangeError);
    expect(periodKey("all", beforeYearOne, "UTC", "monday")).toBe("all");
  });

  it("rejects invalid instants and time zones", () => {
    expect(() => periodKey("daily", new Date(Number.NaN), "UTC", "monday")).toThrow(RangeError);
    expect(() => periodKey("all", new Date(Number.NaN), "UTC", "monday")).toThrow(RangeError);
    expect(() =>
      periodKey("daily", at("2026-01-01T00:00:00Z"), "Mars/Olympus_Mons", "monday"),
    ).toThrow(RangeError);
  });
});

describe("periodKey vs brute force", () => {
  it("agrees every 3 hours through 2026 in every test zone, and at every local day boundary", () => {
    const start = at("2025-12-30T00:00:00Z").getTime();
    const end = at("2027-01-03T00:00:00Z").getTime();
    // Collect mismatches instead of calling expect per sample: ~1.5M comparisons.
    const mismatches: string[] = [];
    const check = (t: number, tz: string, kind: PeriodKind, ws: WeekStart) => {
      const got = periodKey(kind, new Date(t), tz, ws);
      const want = refKey(kind, t, tz, ws);
      if (got !== want)
        mismatches.push(`${new Date(t).toISOString()} ${tz} ${kind} ${ws}: ${got} != ${want}`);
    };
    let boundaries = 0;
    for (const tz of ZONES) {
      let prevDay = refKey("daily", start, tz, "monday");
      for (let t = start; t <= end; t += 3 * HOUR) {
        check(t, tz, "daily", "monday");
        check(t, tz, "monthly", "monday");
        check(t, tz, "weekly", "monday");
        check(t, tz, "weekly", "sunday");
        const day = refKey("daily", t, tz, "monday");
        if (day === prevDay) continue;
        // Refine the local day boundary with the reference; tz transitions fall on whole
        // seconds, so search seconds and then confirm the millisecond just before.
        let loS = (t - 3 * HOUR) / 1000;
        let hiS = t / 1000;
        while (hiS - loS > 1) {
          const mid = loS + Math.floor((hiS - loS) / 2);
          if (refKey("daily", mid * 1000, tz, "monday") === day) hiS = mid;
          else loS = mid;
        }
        const hi = hiS * 1000;
        const lo = hi - 1;
        if (refKey("daily", lo, tz, "monday") === day)
          mismatches.push(`${tz} ${day}: boundary not on a whole second`);
        boundaries += 1;
        const rangeStart = periodRange("daily", day, tz, "monday")?.start.getTime();
        if (rangeStart !== hi) mismatches.push(`${tz} ${day}: range start ${rangeStart} != ${hi}`);
        for (const instant of [lo, hi]) {
          for (const kind of KINDS) {
            for (const ws of WEEK_STARTS) check(instant, tz, kind, ws);
          }
        }
        prevDay = day;
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(boundaries).toBeGreaterThan(ZONES.length * 365);
  }, 60_000);

  it("agrees on random instants between 1900 and 2200 (including historic offsets)", () => {
    const rnd = makeRandom(20261122);
    const lo = at("1900-01-01T00:00:00Z").getTime();
    const hi = at("2200-01-01T00:00:00Z").getTime();
    for (let i = 0; i < 3000; i += 1) {
      const t = lo + Math.floor(rnd.next() * (hi - lo));
      const tz = rnd.pick(ZONES);
      const kind = rnd.pick(KINDS);
      const ws = rnd.pick(WEEK_STARTS);
      expect(
        periodKey(kind, new Date(t), tz, ws),
        `${new Date(t).toISOString()} ${tz} ${kind} ${ws}`,
      ).toBe(refKey(kind, t, tz, ws));
    }
  });

  it('implements the sunday rule as "ISO week of the next day"', () => {
    const rnd = makeRandom(7);
    for (let i = 0; i < 2000; i += 1) {
      const t =
        at("1990-01-01T00:00:00Z").getTime() + rnd.int(0, 80 * 365) * DAY + rnd.int(0, DAY - 1);
      expect(periodKey("weekly", new Date(t), "UTC", "sunday")).toBe(
        periodKey("weekly", new Date(t + DAY), "UTC", "monday"),
      );
    }
  });
});

describe("periodKeysFor", () => {
  it("returns one key per configured period, in order, without duplicates", () => {
    const board = {
      periods: ["monthly", "all", "daily", "weekly", "daily"] as PeriodKind[],
      timeZone: "Europe/Berlin",
      weekStart: "sunday" as const,
    };
    expect(periodKeysFor(board, at("2026-11-21T23:30:00Z"))).toEqual([
      { period: "monthly", key: "2026-11" },
      { period: "all", key: "all" },
      { period: "daily", key: "2026-11-22" },
      { period: "weekly", key: "2026-W48" },
    ]);
    expect(
      periodKeysFor(
        { periods: [], timeZone: "UTC", weekStart: "monday" },
        at("2026-01-01T00:00:00Z"),
      ),
    ).toEqual([]);
  });

  it("agrees with periodKey for every kind (random)", () => {
    const rnd = makeRandom(8);
    const periods: PeriodKind[] = ["all", "daily", "weekly", "monthly"];
    for (let i = 0; i < 1000; i += 1) {
      const board = {
        periods: rnd.shuffle(periods).slice(0, rnd.int(1, 4)),
        timeZone: rnd.pick(ZONES),
        weekStart: rnd.pick(WEEK_STARTS),
      };
      const instant = new Date(
        rnd.int(at("1980-01-01T00:00:00Z").getTime(), at("2080-01-01T00:00:00Z").getTime()),
      );
      expect(periodKeysFor(board, instant)).toEqual(
        board.periods.map((period) => ({
          period,
          key: periodKey(period, instant, board.timeZone, board.weekStart),
        })),
      );
    }
  });

  it("validates the instant even for all-only boards, and the time zone once dates are needed", () => {
    expect(() =>
      periodKeysFor(
        { periods: ["all"], timeZone: "UTC", weekStart: "monday" },
        new Date(Number.NaN),
      ),
    ).toThrow(RangeError);
    expect(() =>
      periodKeysFor({ periods: ["daily"], timeZone: "Nope/Nope", weekStart: "monday" }, new Date()),
    ).toThrow(RangeError);
  });
});

describe("parsePeriodKey", () => {
  it("accepts well-formed keys and returns their parts", () => {
    expect(parsePeriodKey("all", "all")).toEqual({ kind: "all" });
    expect(parsePeriodKey("daily", "2028-02-29")).toEqual({
      kind: "daily",
      year: 2028,
      month: 2,
      day: 29,
    });
    expect(parsePeriodKey("weekly", "2026-W53")).toEqual({ kind: "weekly", year: 2026, week: 53 });
    expect(parsePeriodKey("weekly", "2026-W01")).toEqual({ kind: "weekly", year: 2026, week: 1 });
    expect(parsePeriodKey("monthly", "0001-01")).toEqual({ kind: "monthly", year: 1, month: 1 });
    expect(parsePeriodKey("monthly", "9999-12")).toEqual({
      kind: "monthly",
      year: 9999,
      month: 12,
    });
  });

  it.each([
    ["all", "ALL"],
    ["all", ""],
    ["all", "2026"],
    ["daily", "all"],
    ["daily", "2026-02-29"],
    ["daily", "1900-02-29"],
    ["daily", "2026-04-31"],
    ["daily", "2026-13-01"],
    ["daily", "2026-00-10"],
    ["daily", "2026-01-00"],
    ["daily", "2026-1-01"],
    ["daily", "2026-01-1"],
    ["daily", "0000-01-01"],
    ["daily", "12026-01-01"],
    ["daily", " 2026-01-01"],
    ["daily", "2026-01-01 "],
    ["daily", "2026-01-01T00:00"],
    ["daily", "２０２６-01-01"],
    ["daily", "2026-11"],
    ["weekly", "2025-W53"],
    ["weekly", "2027-W53"],
    ["weekly", "2026-W54"],
    ["weekly", "2026-W00"],
    ["weekly", "2026-W1"],
    ["weekly", "2026-w47"],
    ["weekly", "2026W47"],
    ["weekly", "2026-W47-1"],
    ["weekly", "0000-W10"],
    ["monthly", "2026-13"],
    ["monthly", "2026-00"],
    ["monthly", "2026-1"],
    ["monthly", "2026-11-01"],
    ["monthly", "0000-12"],
  ] as Array<[PeriodKind, string]>)("rejects %s key %j", (kind, key) => {
    expect(parsePeriodKey(kind, key)).toBeNull();
    expect(isValidPeriodKey(kind, key)).toBe(false);
  });

  it("accepts W53 exactly for ISO years with 53 weeks (brute force, 1600..2400)", () => {
    const with53: number[] = [];
    for (let year = 1600; year <= 2400; year += 1) {
      const expected = refHas53Weeks(year);
      expect(isValidPeriodKey("weekly", `${year}-W53`), String(year)).toBe(expected);
      expect(isValidPeriodKey("weekly", `${year}-W52`)).toBe(true);
      if (expected && year >= 2015 && year <= 2040) with53.push(year);
    }
    expect(with53).toEqual([2015, 2020, 2026, 2032, 2037]);
  });

  it("round-trips every key produced by periodKey", () => {
    const rnd = makeRandom(99);
    for (let i = 0; i < 2000; i += 1) {
      const t = rnd.int(at("1000-01-01T00:00:00Z").getTime(), at("9000-01-01T00:00:00Z").getTime());
      for (const kind of KINDS) {
        const key = periodKey(kind, new Date(t), "UTC", rnd.pick(WEEK_STARTS));
        expect(isValidPeriodKey(kind, key), key).toBe(true);
      }
    }
  });
});

describe("periodRange", () => {
  const iso = (r: { start: Date; end: Date } | null) =>
    r === null ? null : [r.start.toISOString(), r.end.toISOString()];

  it("returns null for all and for invalid keys", () => {
    expect(periodRange("all", "all", "UTC", "monday")).toBeNull();
    expect(periodRange("daily", "2026-02-30", "UTC", "monday")).toBeNull();
    expect(periodRange("weekly", "2025-W53", "UTC", "monday")).toBeNull();
    expect(() => periodRange("daily", "2026-01-01", "Not/AZone", "monday")).toThrow(RangeError);
  });

  it.each([
    // [kind, key, zone, weekStart, start, end]
    [
      "daily",
      "2026-11-22",
      "UTC",
      "monday",
      "2026-11-22T00:00:00.000Z",
      "2026-11-23T00:00:00.000Z",
    ],
    [
      "daily",
      "2026-03-08",
      "America/New_York",
      "monday",
      "2026-03-08T05:00:00.000Z",
      "2026-03-09T04:00:00.000Z",
    ], // 23 h
    [
      "daily",
      "2026-11-01",
      "America/New_York",
      "monday",
      "2026-11-01T04:00:00.000Z",
      "2026-11-02T05:00:00.000Z",
    ], // 25 h
    [
      "daily",
      "2026-03-29",
      "Europe/Berlin",
      "monday",
      "2026-03-28T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ],
    [
      "daily",
      "2026-10-25",
      "Europe/Berlin",
      "monday",
      "2026-10-24T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ],
    [
      "daily",
      "2026-10-04",
      "Australia/Lord_Howe",
      "monday",
      "2026-10-03T13:30:00.000Z",
      "2026-10-04T13:00:00.000Z",
    ], // 23.5 h
    [
      "daily",
      "2026-04-05",
      "Australia/Lord_Howe",
      "monday",
      "2026-04-04T13:00:00.000Z",
      "2026-04-05T13:30:00.000Z",
    ], // 24.5 h
    [
      "daily",
      "2026-11-22",
      "Asia/Kathmandu",
      "monday",
      "2026-11-21T18:15:00.000Z",
      "2026-11-22T18:15:00.000Z",
    ],
    [
      "daily",
      "2026-11-22",
      "Pacific/Chatham",
      "monday",
      "2026-11-21T10:15:00.000Z",
      "2026-11-22T10:15:00.000Z",
    ],
    [
      "daily",
      "2026-09-27",
      "Pacific/Chatham",
      "monday",
      "2026-09-26T11:15:00.000Z",
      "2026-09-27T10:15:00.000Z",
    ],
    // Local midnight does not exist: the day starts at 01:00 local.
    [
      "daily",
      "2026-09-06",
      "America/Santiago",
      "monday",
      "2026-09-06T04:00:00.000Z",
      "2026-09-07T03:00:00.000Z",
    ],
    [
      "daily",
      "2026-04-04",
      "America/Santiago",
      "monday",
      "2026-04-04T03:00:00.000Z",
      "2026-04-05T04:00:00.000Z",
    ],
    [
      "daily",
      "2026-03-29",
      "Antarctica/Troll",
      "monday",
      "2026-03-29T00:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ], // 22 h
    // Samoa skipped 2011-12-30 entirely: an empty range at the jump.
    [
      "daily",
      "2011-12-30",
      "Pacific/Apia",
      "monday",
      "2011-12-30T10:00:00.000Z",
      "2011-12-30T10:00:00.000Z",
    ],
    [
      "daily",
      "2011-12-29",
      "Pacific/Apia",
      "monday",
      "2011-12-29T10:00:00.000Z",
      "2011-12-30T10:00:00.000Z",
    ],
    [
      "weekly",
      "2026-W13",
      "Europe/Berlin",
      "monday",
      "2026-03-22T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ],
    [
      "weekly",
      "2026-W13",
      "Europe/Berlin",
      "sunday",
      "2026-03-21T23:00:00.000Z",
      "2026-03-28T23:00:00.000Z",
    ],
    ["weekly", "2026-W48", "UTC", "sunday", "2026-11-22T00:00:00.000Z", "2026-11-29T00:00:00.000Z"],
    ["weekly", "2026-W53", "UTC", "monday", "2026-12-28T00:00:00.000Z", "2027-01-04T00:00:00.000Z"],
    ["weekly", "2026-W53", "UTC", "sunday", "2026-12-27T00:00:00.000Z", "2027-01-03T00:00:00.000Z"],
    ["weekly", "2026-W01", "UTC", "monday", "2025-12-29T00:00:00.000Z", "2026-01-05T00:00:00.000Z"],
    [
      "monthly",
      "2026-03",
      "Europe/Berlin",
      "monday",
      "2026-02-28T23:00:00.000Z",
      "2026-03-31T22:00:00.000Z",
    ],
    ["monthly", "2028-02", "UTC", "monday", "2028-02-01T00:00:00.000Z", "2028-03-01T00:00:00.000Z"],
    [
      "monthly",
      "2026-12",
      "Asia/Kathmandu",
      "monday",
      "2026-11-30T18:15:00.000Z",
      "2026-12-31T18:15:00.000Z",
    ],
    [
      "daily",
      "0001-01-01",
      "UTC",
      "monday",
      "0001-01-01T00:00:00.000Z",
      "0001-01-02T00:00:00.000Z",
    ],
    ["weekly", "0001-W01", "UTC", "sunday", "0000-12-31T00:00:00.000Z", "0001-01-07T00:00:00.000Z"],
    [
      "daily",
      "9999-12-31",
      "UTC",
      "monday",
      "9999-12-31T00:00:00.000Z",
      "+010000-01-01T00:00:00.000Z",
    ],
  ] as Array<[PeriodKind, string, string, WeekStart, string, string]>)(
    "%s %s in %s (%s weeks)",
    (kind, key, tz, ws, start, end) => {
      expect(iso(periodRange(kind, key, tz, ws))).toEqual([start, end]);
    },
  );

  it("is contiguous, contains its own key and nothing else, for random keys in every zone", () => {
    const rnd = makeRandom(4242);
    const lo = at("1970-01-01T00:00:00Z").getTime();
    const hi = at("2100-01-01T00:00:00Z").getTime();
    for (let i = 0; i < 1500; i += 1) {
      const tz = rnd.pick(ZONES);
      const kind = rnd.pick(KINDS);
      const ws = rnd.pick(WEEK_STARTS);
      const t = rnd.int(lo, hi);
      const key = periodKey(kind, new Date(t), tz, ws);
      const range = periodRange(kind, key, tz, ws);
      const label = `${tz} ${kind} ${ws} ${key}`;
      if (range === null) throw new Error(`no range for ${label}`);
      const start = range.start.getTime();
      const end = range.end.getTime();
      expect(start <= t && t < end, label).toBe(true);
      expect(periodKey(kind, new Date(start), tz, ws), label).toBe(key);
      expect(periodKey(kind, new Date(end - 1), tz, ws), label).toBe(key);
      expect(periodKey(kind, new Date(start - 1), tz, ws), label).toBe(
        previousPeriodKey(kind, key, ws),
      );
      expect(periodKey(kind, new Date(end), tz, ws), label).toBe(nextPeriodKey(kind, key, ws));
      const next = nextPeriodKey(kind, key, ws);
      expect(next).not.toBeNull();
      expect(periodRange(kind, next ?? "", tz, ws)?.start.getTime(), label).toBe(end);
      // Plausible lengths: a local day is 22..26 h in these zones during this era.
      const days = kind === "daily" ? 1 : kind === "weekly" ? 7 : (end - start) / DAY;
      expect(Math.abs(end - start - days * DAY), label).toBeLessThanOrEqual(2 * HOUR);
    }
  });

  it("stays terminating and ordered where history repeats or skips dates", () => {
    // Alaska moved across the date line in 1867 (a repeated date); Manila skipped 1844-12-31.
    for (const [tz, keys] of [
      ["America/Sitka", ["1867-10-17", "1867-10-18", "1867-10-19", "1867-10-20"]],
      ["Asia/Manila", ["1844-12-29", "1844-12-30", "1844-12-31", "1845-01-01"]],
      ["Pacific/Apia", ["2011-12-28", "2011-12-29", "2011-12-30", "2011-12-31"]],
    ] as const) {
      let previousEnd = Number.NEGATIVE_INFINITY;
      for (const key of keys) {
        const r = periodRange("daily", key, tz, "monday");
        if (r === null) throw new Error(key);
        expect(r.start.getTime()).toBeLessThanOrEqual(r.end.getTime());
        expect(r.start.getTime()).toBeGreaterThanOrEqual(previousEnd);
        previousEnd = r.end.getTime();
      }
    }
  });
});

describe("previous/next/current/resolve", () => {
  it("steps across month, year and W53 boundaries", () => {
    expect(previousPeriodKey("daily", "2026-03-01", "monday")).toBe("2026-02-28");
    expect(previousPeriodKey("daily", "2028-03-01", "monday")).toBe("2028-02-29");
    expect(previousPeriodKey("daily", "2027-01-01", "monday")).toBe("2026-12-31");
    expect(nextPeriodKey("daily", "2026-12-31")).toBe("2027-01-01");
    expect(previousPeriodKey("weekly", "2027-W01", "monday")).toBe("2026-W53");
    expect(previousPeriodKey("weekly", "2027-W01", "sunday")).toBe("2026-W53");
    expect(nextPeriodKey("weekly", "2026-W53")).toBe("2027-W01");
    expect(nextPeriodKey("weekly", "2025-W52")).toBe("2026-W01");
    expect(previousPeriodKey("weekly", "2026-W01")).toBe("2025-W52");
    expect(previousPeriodKey("monthly", "2026-01", "monday")).toBe("2025-12");
    expect(nextPeriodKey("monthly", "2026-12")).toBe("2027-01");
  });

  it("returns null for all, invalid keys and the edges of the supported range", () => {
    expect(previousPeriodKey("all", "all", "monday")).toBeNull();
    expect(nextPeriodKey("all", "all")).toBeNull();
    expect(previousPeriodKey("daily", "2026-02-30", "monday")).toBeNull();
    expect(previousPeriodKey("daily", "0001-01-01", "monday")).toBeNull();
    expect(nextPeriodKey("daily", "9999-12-31")).toBeNull();
    expect(previousPeriodKey("weekly", "0001-W01", "monday")).toBeNull();
    expect(nextPeriodKey("weekly", "9999-W52")).toBeNull();
    expect(previousPeriodKey("monthly", "0001-01", "monday")).toBeNull();
    expect(nextPeriodKey("monthly", "9999-12")).toBeNull();
  });

  it("is reversible and matches the key of the adjacent instant (random)", () => {
    const rnd = makeRandom(31337);
    for (let i = 0; i < 2000; i += 1) {
      const kind = rnd.pick(KINDS);
      const ws = rnd.pick(WEEK_STARTS);
      const t = rnd.int(at("1950-01-01T00:00:00Z").getTime(), at("2150-01-01T00:00:00Z").getTime());
      const key = periodKey(kind, new Date(t), "UTC", ws);
      const prev = previousPeriodKey(kind, key, ws);
      const next = nextPeriodKey(kind, key, ws);
      expect(prev).not.toBeNull();
      expect(next).not.toBeNull();
      expect(nextPeriodKey(kind, prev ?? "", ws)).toBe(key);
      expect(previousPeriodKey(kind, next ?? "", ws)).toBe(key);
      // In UTC a step back is exactly one day / seven days / into the previous month.
      if (kind === "daily") expect(periodKey(kind, new Date(t - DAY), "UTC", ws)).toBe(prev);
      if (kind === "weekly") expect(periodKey(kind, new Date(t - 7 * DAY), "UTC", ws)).toBe(prev);
    }
  });

  it("resolves at= values against a fixed now", () => {
    const now = at("2026-11-22T23:30:00Z"); // already Monday 23 Nov in Berlin
    const tz = "Europe/Berlin";
    expect(currentPeriodKey("weekly", tz, "monday", now)).toBe("2026-W48");
    expect(currentPeriodKey("daily", "UTC", "monday", now)).toBe("2026-11-22");
    expect(resolvePeriodKey("weekly", undefined, tz, "monday", now)).toBe("2026-W48");
    expect(resolvePeriodKey("weekly", "current", tz, "monday", now)).toBe("2026-W48");
    expect(resolvePeriodKey("weekly", "previous", tz, "monday", now)).toBe("2026-W47");
    expect(resolvePeriodKey("daily", "previous", tz, "monday", now)).toBe("2026-11-22");
    expect(resolvePeriodKey("monthly", "previous", tz, "monday", now)).toBe("2026-10");
    expect(resolvePeriodKey("weekly", "2020-W53", tz, "monday", now)).toBe("2020-W53");
    expect(resolvePeriodKey("weekly", "2021-W53", tz, "monday", now)).toBeNull();
    expect(resolvePeriodKey("all", undefined, tz, "monday", now)).toBe("all");
    expect(resolvePeriodKey("all", "previous", tz, "monday", now)).toBeNull();
    expect(resolvePeriodKey("daily", "yesterday", tz, "monday", now)).toBeNull();
    expect(typeof currentPeriodKey("daily", "UTC", "monday")).toBe("string");
  });
});

describe("isValidTimeZone", () => {
  it.each([
    "UTC",
    "Etc/UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "US/Eastern",
    "Etc/GMT-14",
  ])("accepts %s", (tz) => {
    expect(isValidTimeZone(tz)).toBe(true);
  });

  it.each([
    "",
    "Mars/Olympus_Mons",
    "Europe/Berlin ",
    "+05:00",
    "-03:30",
    "\u221205:00",
    "GMT+25",
    "x".repeat(65),
  ])("rejects %j", (tz) => {
    expect(isValidTimeZone(tz)).toBe(false);
  });
});
