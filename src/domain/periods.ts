/**
 * Leaderboard periods: which calendar buckets an instant falls into, in a
 * board's own time zone, and where those buckets begin and end.
 *
 * Everything here is pure calendar arithmetic. The only platform facility
 * used is `Intl.DateTimeFormat`, which carries the IANA time-zone database;
 * it is used for exactly one thing: turning a UTC instant into a local wall
 * clock reading. All date arithmetic (day numbers, ISO weeks, months) is done
 * on integers in the proleptic Gregorian calendar, so it never depends on the
 * host's own time zone and never assumes a day lasts 24 hours.
 *
 * Key formats (stable: they are stored in the database and appear in URLs):
 * - `all`     → `all`
 * - `daily`   → `YYYY-MM-DD`, e.g. `2026-11-22`
 * - `weekly`  → `YYYY-Www`, e.g. `2026-W47` (ISO-8601 week-year and week)
 * - `monthly` → `YYYY-MM`, e.g. `2026-11`
 *
 * Week rule: Monday-start weeks are exactly ISO-8601 weeks. Sunday-start
 * weeks run Sunday..Saturday and are named after the ISO week of the day
 * after, i.e. key(date) = isoWeekKey(date + 1 day). A Sunday-start week
 * therefore carries the name of the ISO week that covers its Monday..Saturday,
 * so Sun 2026-11-22 .. Sat 2026-11-28 is `2026-W48`. The mapping is a
 * bijection between weeks and keys, which keeps ranges, previous/next and
 * parsing reversible for both week starts.
 *
 * Supported range: local dates (and week-years) in years 0001..9999, because
 * keys have four-digit years. Instants outside it raise a RangeError.
 */

/** The calendar buckets a board can rank in; `all` never resets. */
export type PeriodKind = "all" | "daily" | "weekly" | "monthly";

/** First day of a board's week; decides which week a Sunday belongs to. */
export type WeekStart = "monday" | "sunday";

/** The subset of a board's settings that decides its period keys. */
export interface BoardPeriodConfig {
  readonly periods: readonly PeriodKind[];
  readonly timeZone: string;
  readonly weekStart: WeekStart;
}

/** A period key pulled apart into numbers; keeps validation in one place. */
export type ParsedPeriodKey =
  | { readonly kind: "all" }
  | { readonly kind: "daily"; readonly year: number; readonly month: number; readonly day: number }
  | { readonly kind: "weekly"; readonly year: number; readonly week: number }
  | { readonly kind: "monthly"; readonly year: number; readonly month: number };

/** Half-open interval [start, end) of UTC instants covered by a period. */
export interface PeriodRange {
  readonly start: Date;
  readonly end: Date;
}

/** Every period kind, in a stable order; handy for validation and tests. */
export const PERIOD_KINDS: readonly PeriodKind[] = ["all", "daily", "weekly", "monthly"];

/** The one key of the never-resetting period. */
export const ALL_TIME_KEY = "all";

const DAY_MS = 86_400_000;
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

// ---------------------------------------------------------------------------
// Proleptic Gregorian day numbers (days since 1970-01-01), integer-only.
// Algorithms from Howard Hinnant, "chrono-compatible low-level date
// algorithms"; valid for every year, including year 0 and negative years.
// ---------------------------------------------------------------------------

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = floorDiv(153 * mp + 2, 5) + day - 1;
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146_097 + doe - 719_468;
}

interface CivilDate {
  year: number;
  month: number;
  day: number;
}

function civilFromDays(days: number): CivilDate {
  const z = days + 719_468;
  const era = floorDiv(z, 146_097);
  const doe = z - era * 146_097;
  const yoe = floorDiv(
    doe - floorDiv(doe, 1460) + floorDiv(doe, 36_524) - floorDiv(doe, 146_096),
    365,
  );
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const day = doy - floorDiv(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** ISO weekday, Monday = 1 .. Sunday = 7. Day 0 (1970-01-01) was a Thursday. */
function isoWeekday(days: number): number {
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Day number of the Monday that starts ISO week 1 of `isoYear`. */
function isoWeekOneMonday(isoYear: number): number {
  const jan4 = daysFromCivil(isoYear, 1, 4);
  return jan4 - (isoWeekday(jan4) - 1);
}

/** ISO years have 53 weeks when Jan 1 is a Thursday, or a Wednesday in leap years. */
function isoWeeksInYear(isoYear: number): number {
  const jan1 = isoWeekday(daysFromCivil(isoYear, 1, 1));
  return jan1 === 4 || (jan1 === 3 && isLeapYear(isoYear)) ? 53 : 52;
}

function isoWeekOf(days: number): { year: number; week: number } {
  // The ISO week belongs to the year that contains its Thursday.
  const thursday = days - isoWeekday(days) + 4;
  const year = civilFromDays(thursday).year;
  return { year, week: floorDiv(thursday - daysFromCivil(year, 1, 1), 7) + 1 };
}

/** Day number of the first day of a (year, week) key under the given week start. */
function weekStartDay(isoYear: number, week: number, weekStart: WeekStart): number {
  const monday = isoWeekOneMonday(isoYear) + (week - 1) * 7;
  return weekStart === "sunday" ? monday - 1 : monday;
}

function weekKeyForDay(days: number, weekStart: WeekStart): { year: number; week: number } {
  // Sunday-start weeks are named after the ISO week of the following day.
  return isoWeekOf(weekStart === "sunday" ? days + 1 : days);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function inYearRange(year: number): boolean {
  return year >= MIN_YEAR && year <= MAX_YEAR;
}

function formatDaily(d: CivilDate): string {
  return `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
}

function formatWeekly(year: number, week: number): string {
  return `${pad(year, 4)}-W${pad(week, 2)}`;
}

function formatMonthly(year: number, month: number): string {
  return `${pad(year, 4)}-${pad(month, 2)}`;
}

// ---------------------------------------------------------------------------
// Local wall clock via Intl.
// ---------------------------------------------------------------------------

/**
 * Formatters are cached per time-zone string because constructing an
 * Intl.DateTimeFormat is expensive (locale and tz data resolution) while
 * formatting with an existing one is cheap, and they hold no I/O or request
 * state, so sharing them across requests in an isolate is safe. Only names
 * that constructed successfully are cached; the cap bounds memory if callers
 * feed many spellings (time-zone names are case-insensitive).
 */
const formatterCache = new Map<string, Intl.DateTimeFormat>();
const FORMATTER_CACHE_LIMIT = 512;

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  const cached = formatterCache.get(timeZone);
  if (cached !== undefined) return cached;
  const formatter = new Intl.DateTimeFormat("en-US", {
    timeZone,
    // Pin the calendar, digits and hour cycle so the parts are always
    // Gregorian ASCII numbers with hours 0..23, whatever the locale defaults.
    calendar: "gregory",
    numberingSystem: "latn",
    hourCycle: "h23",
    era: "short",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  if (formatterCache.size >= FORMATTER_CACHE_LIMIT) formatterCache.clear();
  formatterCache.set(timeZone, formatter);
  return formatter;
}

/** Local wall clock at `epochMs`, expressed as milliseconds on a UTC-like axis. */
function wallClockMs(formatter: Intl.DateTimeFormat, epochMs: number): number {
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const part of formatter.formatToParts(epochMs)) {
    switch (part.type) {
      case "year":
        year = Number(part.value);
        break;
      case "month":
        month = Number(part.value);
        break;
      case "day":
        day = Number(part.value);
        break;
      case "hour":
        // Some engines have printed midnight as "24" despite h23.
        hour = Number(part.value) % 24;
        break;
      case "minute":
        minute = Number(part.value);
        break;
      case "second":
        second = Number(part.value);
        break;
      case "era":
        bc = part.value === "BC" || part.value === "B";
        break;
      default:
        break;
    }
  }
  // 1 BC is astronomical year 0.
  const astronomicalYear = bc ? 1 - year : year;
  const subSecond = ((epochMs % 1000) + 1000) % 1000;
  return (
    daysFromCivil(astronomicalYear, month, day) * DAY_MS +
    hour * 3_600_000 +
    minute * 60_000 +
    second * 1000 +
    subSecond
  );
}

function localDayNumber(formatter: Intl.DateTimeFormat, epochMs: number): number {
  return floorDiv(wallClockMs(formatter, epochMs), DAY_MS);
}

function toEpochMs(instant: Date): number {
  const ms = instant instanceof Date ? instant.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new RangeError("periods: invalid instant");
  return ms;
}

/**
 * First UTC instant whose local date is `day` or later, i.e. the instant the
 * local day begins. Usually that is local midnight, but where midnight is
 * skipped by a DST jump (America/Santiago, Asia/Beirut, ...) it is the moment
 * of the jump, and for a day skipped entirely (Pacific/Apia, 2011-12-30) it
 * equals the start of the next day, giving an empty range.
 *
 * Strategy: like Temporal's disambiguation, try the offsets in force a day
 * before and a day after, accept the earliest candidate that reads exactly
 * local midnight and is a real boundary; otherwise binary-search the boundary,
 * which is bounded (±36 h covers every offset in the tz database) and always
 * terminates.
 */
function startOfLocalDay(formatter: Intl.DateTimeFormat, day: number): number {
  const target = day * DAY_MS;
  const offsetBefore = wallClockMs(formatter, target - DAY_MS) - (target - DAY_MS);
  const offsetAfter = wallClockMs(formatter, target + DAY_MS) - (target + DAY_MS);
  const candidates =
    offsetBefore === offsetAfter
      ? [target - offsetBefore]
      : [target - offsetBefore, target - offsetAfter].sort((a, b) => a - b);
  for (const candidate of candidates) {
    if (
      wallClockMs(formatter, candidate) === target &&
      localDayNumber(formatter, candidate - 1) < day
    ) {
      return candidate;
    }
  }
  let lo = target - 36 * 3_600_000; // local date certainly before `day`
  let hi = target + 36 * 3_600_000; // local date certainly `day` or later
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (localDayNumber(formatter, mid) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

// ---------------------------------------------------------------------------
// Public API.
// ---------------------------------------------------------------------------

/**
 * True for names Intl accepts as IANA time zones (case-insensitive, links such
 * as `US/Eastern` included). Bare UTC offsets like `+05:00` are rejected even
 * where the engine would accept them, because boards must follow a region's
 * DST rules, not a fixed offset (use `Etc/GMT-5` if that is really wanted).
 */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== "string" || timeZone.length === 0 || timeZone.length > 64) return false;
  if (/^[+\-\u2212]/.test(timeZone)) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The key of the `kind` period containing `instant`, with dates read in
 * `timeZone`. Deterministic for a given tz database; throws RangeError for an
 * invalid instant or time zone, or a date outside years 0001..9999.
 */
export function periodKey(
  kind: PeriodKind,
  instant: Date,
  timeZone: string,
  weekStart: WeekStart,
): string {
  const ms = toEpochMs(instant);
  if (kind === "all") return ALL_TIME_KEY;
  return keyForLocalDay(kind, localDayNumber(formatterFor(timeZone), ms), weekStart);
}

/** Key of the non-`all` period containing local day number `day`. */
function keyForLocalDay(
  kind: Exclude<PeriodKind, "all">,
  day: number,
  weekStart: WeekStart,
): string {
  const date = civilFromDays(day);
  switch (kind) {
    case "daily":
      if (!inYearRange(date.year)) break;
      return formatDaily(date);
    case "monthly":
      if (!inYearRange(date.year)) break;
      return formatMonthly(date.year, date.month);
    case "weekly": {
      const { year, week } = weekKeyForDay(day, weekStart);
      if (!inYearRange(year)) break;
      return formatWeekly(year, week);
    }
    default:
      throw new RangeError(`periods: unknown period kind ${String(kind)}`);
  }
  throw new RangeError("periods: instant outside the supported years 0001..9999");
}

/**
 * Every (period, key) an event at `instant` counts towards on this board, in
 * the board's own period order with duplicates dropped, so the ingest path can
 * write one row per entry without further checks. The local date is looked up
 * once and shared by all kinds, since the Intl call dominates the cost.
 */
export function periodKeysFor(
  board: BoardPeriodConfig,
  instant: Date,
): Array<{ period: PeriodKind; key: string }> {
  const ms = toEpochMs(instant);
  const out: Array<{ period: PeriodKind; key: string }> = [];
  const seen = new Set<PeriodKind>();
  let day: number | undefined;
  for (const period of board.periods) {
    if (seen.has(period)) continue;
    seen.add(period);
    if (period === "all") {
      out.push({ period, key: ALL_TIME_KEY });
      continue;
    }
    day ??= localDayNumber(formatterFor(board.timeZone), ms);
    out.push({ period, key: keyForLocalDay(period, day, board.weekStart) });
  }
  return out;
}

/**
 * Validates a key for a period kind and returns its parts, or null. Strict:
 * zero-padded fields, real calendar dates (Feb 29 only in leap years), and
 * `W53` only for ISO years that have 53 weeks; years 0001..9999.
 */
export function parsePeriodKey(kind: PeriodKind, key: string): ParsedPeriodKey | null {
  if (typeof key !== "string") return null;
  switch (kind) {
    case "all":
      return key === ALL_TIME_KEY ? { kind: "all" } : null;
    case "daily": {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
      if (m === null) return null;
      const year = Number(m[1]);
      const month = Number(m[2]);
      const day = Number(m[3]);
      if (!inYearRange(year) || month < 1 || month > 12) return null;
      if (day < 1 || day > daysInMonth(year, month)) return null;
      return { kind: "daily", year, month, day };
    }
    case "weekly": {
      const m = /^(\d{4})-W(\d{2})$/.exec(key);
      if (m === null) return null;
      const year = Number(m[1]);
      const week = Number(m[2]);
      if (!inYearRange(year) || week < 1 || week > isoWeeksInYear(year)) return null;
      return { kind: "weekly", year, week };
    }
    case "monthly": {
      const m = /^(\d{4})-(\d{2})$/.exec(key);
      if (m === null) return null;
      const year = Number(m[1]);
      const month = Number(m[2]);
      if (!inYearRange(year) || month < 1 || month > 12) return null;
      return { kind: "monthly", year, month };
    }
    default:
      return null;
  }
}

/** True when `key` is a well-formed, existing key for `kind`. */
export function isValidPeriodKey(kind: PeriodKind, key: string): boolean {
  return parsePeriodKey(kind, key) !== null;
}

/** Local-day span [startDay, endDay) of a parsed non-`all` key. */
function daySpan(
  parsed: Exclude<ParsedPeriodKey, { kind: "all" }>,
  weekStart: WeekStart,
): [number, number] {
  switch (parsed.kind) {
    case "daily": {
      const d = daysFromCivil(parsed.year, parsed.month, parsed.day);
      return [d, d + 1];
    }
    case "weekly": {
      const d = weekStartDay(parsed.year, parsed.week, weekStart);
      return [d, d + 7];
    }
    case "monthly": {
      const d = daysFromCivil(parsed.year, parsed.month, 1);
      return [d, d + daysInMonth(parsed.year, parsed.month)];
    }
  }
}

/**
 * UTC instants bounding a period: [start, end), where start is when the first
 * local day of the period begins in `timeZone` and end is when the day after
 * its last one begins. Handles 23/25-hour days, 30-minute DST (Lord Howe),
 * odd offsets (Kathmandu, Chatham) and midnights skipped by DST, because each
 * boundary is found against the tz database instead of assuming 24-hour days.
 * Returns null for `all` (unbounded) and for invalid keys; throws RangeError
 * for an invalid time zone.
 *
 * Consistency guarantee: for any instant t, periodRange(k, periodKey(k, t))
 * contains t, wherever local dates never run backwards across midnight (true
 * of every modern zone; historic oddities such as Alaska's 1867 date-line
 * move repeat a date and cannot be expressed as one interval).
 */
export function periodRange(
  kind: PeriodKind,
  key: string,
  timeZone: string,
  weekStart: WeekStart,
): PeriodRange | null {
  const parsed = parsePeriodKey(kind, key);
  if (parsed === null || parsed.kind === "all") {
    // Still validate the time zone so callers learn about a bad board early.
    formatterFor(timeZone);
    return null;
  }
  const formatter = formatterFor(timeZone);
  const [startDay, endDay] = daySpan(parsed, weekStart);
  return {
    start: new Date(startOfLocalDay(formatter, startDay)),
    end: new Date(startOfLocalDay(formatter, endDay)),
  };
}

/** Key of the period `delta` periods away, or null if invalid or out of range. */
function shiftPeriodKey(kind: PeriodKind, key: string, delta: number): string | null {
  const parsed = parsePeriodKey(kind, key);
  if (parsed === null) return null;
  switch (parsed.kind) {
    case "all":
      // The all-time period has no neighbours.
      return null;
    case "daily": {
      const date = civilFromDays(daysFromCivil(parsed.year, parsed.month, parsed.day) + delta);
      return inYearRange(date.year) ? formatDaily(date) : null;
    }
    case "weekly": {
      // Week keys are ISO weeks under both week starts, so stepping is the same.
      const monday = isoWeekOneMonday(parsed.year) + (parsed.week - 1 + delta) * 7;
      const { year, week } = isoWeekOf(monday);
      return inYearRange(year) ? formatWeekly(year, week) : null;
    }
    case "monthly": {
      const index = parsed.year * 12 + (parsed.month - 1) + delta;
      const year = floorDiv(index, 12);
      return inYearRange(year) ? formatMonthly(year, index - year * 12 + 1) : null;
    }
  }
}

/**
 * The period just before `key` ("last week's winners"), or null for `all`,
 * an invalid key, or one at the start of the supported range. Week keys name
 * the same weeks under both week starts, so `weekStart` does not change the
 * answer; it is accepted so callers can pass board settings uniformly.
 */
export function previousPeriodKey(
  kind: PeriodKind,
  key: string,
  _weekStart?: WeekStart,
): string | null {
  return shiftPeriodKey(kind, key, -1);
}

/** The period just after `key`; null for `all`, invalid keys or range end. */
export function nextPeriodKey(
  kind: PeriodKind,
  key: string,
  _weekStart?: WeekStart,
): string | null {
  return shiftPeriodKey(kind, key, 1);
}

/**
 * The key of the period in progress at `now` (defaults to the current time,
 * which in Workers is the time the request arrived).
 */
export function currentPeriodKey(
  kind: PeriodKind,
  timeZone: string,
  weekStart: WeekStart,
  now: Date = new Date(),
): string {
  return periodKey(kind, now, timeZone, weekStart);
}

/**
 * Resolves an API `at=` value to a period key: absent or `current` → the
 * period in progress, `previous` → the one before it, anything else must be a
 * valid key for `kind` and is returned unchanged. Null means "reject the
 * request" (invalid key, or no previous period, e.g. for `all`).
 */
export function resolvePeriodKey(
  kind: PeriodKind,
  at: string | undefined,
  timeZone: string,
  weekStart: WeekStart,
  now: Date = new Date(),
): string | null {
  if (at === undefined || at === "" || at === "current") {
    return currentPeriodKey(kind, timeZone, weekStart, now);
  }
  if (at === "previous") {
    return previousPeriodKey(kind, currentPeriodKey(kind, timeZone, weekStart, now), weekStart);
  }
  return isValidPeriodKey(kind, at) ? at : null;
}

// ---------------------------------------------------------------------------
// Local wall-clock times (tournament schedules: "every day at 20:00 Europe/Paris").
// ---------------------------------------------------------------------------

/** A local calendar day (days since 1970-01-01) and its parts, as schedules step through them. */
export interface LocalDay {
  readonly day: number;
  readonly year: number;
  readonly month: number;
  readonly dayOfMonth: number;
  /** ISO weekday, Monday = 1 .. Sunday = 7. */
  readonly weekday: number;
}

/** The local day of a day number. */
export function localDay(day: number): LocalDay {
  const date = civilFromDays(day);
  return {
    day,
    year: date.year,
    month: date.month,
    dayOfMonth: date.day,
    weekday: isoWeekday(day),
  };
}

/** The day number of a local calendar date (month may overflow: month 13 is next January). */
export function dayOfDate(year: number, month: number, dayOfMonth: number): number {
  const index = year * 12 + (month - 1);
  return daysFromCivil(floorDiv(index, 12), index - floorDiv(index, 12) * 12 + 1, dayOfMonth);
}

/** The local day number `instant` falls on in `timeZone`. */
export function localDayOf(instant: Date, timeZone: string): number {
  return floorDiv(wallClockMs(formatterFor(timeZone), toEpochMs(instant)), DAY_MS);
}

/**
 * The UTC instant at which local day `day` reads `minuteOfDay` in `timeZone`. Offsets are read
 * twice (before and after the guess) so a DST change that day is taken into account; a local time
 * skipped by a jump forward maps to the instant the clock jumps past it, one repeated by a jump
 * back to its first occurrence.
 */
export function instantOfLocalTime(day: number, minuteOfDay: number, timeZone: string): Date {
  const formatter = formatterFor(timeZone);
  const target = day * DAY_MS + minuteOfDay * 60_000;
  const offsetBefore = wallClockMs(formatter, target - DAY_MS) - (target - DAY_MS);
  const offsetAfter = wallClockMs(formatter, target + DAY_MS) - (target + DAY_MS);
  const candidates = [
    target - Math.max(offsetBefore, offsetAfter),
    target - Math.min(offsetBefore, offsetAfter),
  ];
  for (const candidate of candidates.sort((a, b) => a - b))
    if (wallClockMs(formatter, candidate) === target) return new Date(candidate);
  // Skipped by a jump forward: the first instant whose wall clock is past the target.
  let lo = target - 36 * 3_600_000;
  let hi = target + 36 * 3_600_000;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (wallClockMs(formatter, mid) >= target) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}
