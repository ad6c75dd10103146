/**
 * Tournament instances: which one runs at an instant, which ended last, which comes next, and the
 * stable key each has. Pure calendar arithmetic over periods.ts; the clock is always passed in.
 *
 * A tournament without a schedule has one instance, keyed "main", over [startsAt, endsAt). A
 * recurring one has an instance every day/week/month starting at a local time in an IANA time
 * zone, lasting durationMinutes, keyed by its start's local period: `2026-11-22` (daily),
 * `2026-W47` (weekly, ISO week), `2026-11` (monthly). Instances start within [startsAt, endsAt).
 */
import {
  dayOfDate,
  instantOfLocalTime,
  isValidTimeZone,
  localDay,
  localDayOf,
  parsePeriodKey,
  periodKey,
} from "./periods";

export interface Schedule {
  readonly every: "day" | "week" | "month";
  /** Local start time, "HH:MM" (24 h). */
  readonly at: string;
  readonly timeZone: string;
  readonly durationMinutes: number;
  /** ISO weekday (Monday = 1) of a weekly schedule. */
  readonly weekday?: number | undefined;
  /** Day of the month (1..28, so every month has it) of a monthly schedule. */
  readonly dayOfMonth?: number | undefined;
}

export interface TournamentTimes {
  readonly startsAt: Date;
  readonly endsAt: Date | null;
  readonly schedule: Schedule | null;
}

export interface Instance {
  readonly key: string;
  readonly start: Date;
  readonly end: Date;
}

const SINGLE_INSTANCE_KEY = "main";

/** Longest duration per recurrence: instances never overlap, so at most one runs at a time. */
const MAX_DURATION_MINUTES = { day: 1440, week: 7 * 1440, month: 28 * 1440 } as const;

/** Why a schedule cannot be used, or null. */
export function scheduleProblem(schedule: Schedule): string | null {
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(schedule.at))
    return "schedule.at must be HH:MM (00:00-23:59)";
  if (!isValidTimeZone(schedule.timeZone)) return "schedule.timeZone must be an IANA time zone";
  const max = MAX_DURATION_MINUTES[schedule.every];
  if (!Number.isInteger(schedule.durationMinutes) || schedule.durationMinutes < 1)
    return "schedule.durationMinutes must be a whole number of minutes >= 1";
  if (schedule.durationMinutes > max)
    return `schedule.durationMinutes is at most ${max} for every=${schedule.every}, so instances never overlap`;
  if ((schedule.every === "week") !== (schedule.weekday !== undefined))
    return "schedule.weekday (1 = Monday .. 7 = Sunday) is required for every=week, and only there";
  if ((schedule.every === "month") !== (schedule.dayOfMonth !== undefined))
    return "schedule.dayOfMonth (1..28) is required for every=month, and only there";
  return null;
}

const minutesOf = (at: string) => Number(at.slice(0, 2)) * 60 + Number(at.slice(3, 5));

/** The scheduled day on or before local day `day`. */
function anchorOnOrBefore(schedule: Schedule, day: number): number {
  const local = localDay(day);
  if (schedule.every === "day") return day;
  if (schedule.every === "week") return day - ((local.weekday - (schedule.weekday ?? 1) + 7) % 7);
  const dom = schedule.dayOfMonth ?? 1;
  const inMonth = dayOfDate(local.year, local.month, dom);
  return inMonth <= day ? inMonth : dayOfDate(local.year, local.month - 1, dom);
}

/** The scheduled day `steps` occurrences after (or before) `anchor`. */
function stepAnchor(schedule: Schedule, anchor: number, steps: number): number {
  if (schedule.every === "day") return anchor + steps;
  if (schedule.every === "week") return anchor + 7 * steps;
  const local = localDay(anchor);
  return dayOfDate(local.year, local.month + steps, local.dayOfMonth);
}

const KEY_KIND = { day: "daily", week: "weekly", month: "monthly" } as const;

function instanceOn(schedule: Schedule, anchor: number): Instance {
  const start = instantOfLocalTime(anchor, minutesOf(schedule.at), schedule.timeZone);
  // Keyed by the scheduled local day, not by the start instant, so a DST jump never renames it.
  const noon = instantOfLocalTime(anchor, 720, schedule.timeZone);
  return {
    key: periodKey(KEY_KIND[schedule.every], noon, schedule.timeZone, "monday"),
    start,
    end: new Date(start.getTime() + schedule.durationMinutes * 60_000),
  };
}

function withinWindow(t: TournamentTimes, instance: Instance): boolean {
  const start = instance.start.getTime();
  return start >= t.startsAt.getTime() && (t.endsAt === null || start < t.endsAt.getTime());
}

function single(t: TournamentTimes): Instance {
  return { key: SINGLE_INSTANCE_KEY, start: t.startsAt, end: t.endsAt ?? t.startsAt };
}

/** The instance running at `now` (start <= now < end), or null. */
export function instanceAt(t: TournamentTimes, now: number): Instance | null {
  if (t.schedule === null) {
    const only = single(t);
    return only.start.getTime() <= now && now < only.end.getTime() ? only : null;
  }
  const anchor = anchorOnOrBefore(t.schedule, localDayOf(new Date(now), t.schedule.timeZone));
  for (const steps of [0, -1]) {
    const instance = instanceOn(t.schedule, stepAnchor(t.schedule, anchor, steps));
    const running = instance.start.getTime() <= now && now < instance.end.getTime();
    if (running) return withinWindow(t, instance) ? instance : null;
  }
  return null;
}

/** The latest instance that ended at or before `now`, or null. */
export function lastEndedInstance(t: TournamentTimes, now: number): Instance | null {
  if (t.schedule === null) {
    const only = single(t);
    return only.end.getTime() <= now ? only : null;
  }
  // After the schedule's end, look from its last moment instead of stepping through the gap.
  const ref = t.endsAt !== null && t.endsAt.getTime() <= now ? t.endsAt.getTime() - 1 : now;
  const anchor = anchorOnOrBefore(t.schedule, localDayOf(new Date(ref), t.schedule.timeZone));
  for (let steps = 0; steps >= -2; steps -= 1) {
    const instance = instanceOn(t.schedule, stepAnchor(t.schedule, anchor, steps));
    if (instance.start.getTime() > ref || instance.end.getTime() > now) continue;
    return withinWindow(t, instance) ? instance : null;
  }
  return null;
}

/** The first instance starting after `now`, or null when the schedule has none left. */
export function nextInstance(t: TournamentTimes, now: number): Instance | null {
  if (t.schedule === null) return t.startsAt.getTime() > now ? single(t) : null;
  const from = Math.max(now, t.startsAt.getTime());
  const anchor = anchorOnOrBefore(t.schedule, localDayOf(new Date(from), t.schedule.timeZone));
  for (let steps = 0; steps <= 2; steps += 1) {
    const instance = instanceOn(t.schedule, stepAnchor(t.schedule, anchor, steps));
    if (instance.start.getTime() <= now || instance.start.getTime() < t.startsAt.getTime())
      continue;
    return withinWindow(t, instance) ? instance : null;
  }
  return null;
}

/** The instance a key names, or null when the tournament has no such instance. */
export function instanceByKey(t: TournamentTimes, key: string): Instance | null {
  if (t.schedule === null) return key === SINGLE_INSTANCE_KEY ? single(t) : null;
  const parsed = parsePeriodKey(KEY_KIND[t.schedule.every], key);
  if (parsed === null) return null;
  let day: number;
  if (parsed.kind === "daily") day = dayOfDate(parsed.year, parsed.month, parsed.day);
  else if (parsed.kind === "monthly") day = dayOfDate(parsed.year, parsed.month, 28);
  else if (parsed.kind === "weekly") {
    const jan4 = dayOfDate(parsed.year, 1, 4);
    day = jan4 - (localDay(jan4).weekday - 1) + (parsed.week - 1) * 7 + 6;
  } else return null;
  const instance = instanceOn(t.schedule, anchorOnOrBefore(t.schedule, day));
  return instance.key === key && withinWindow(t, instance) ? instance : null;
}

export type TournamentStatus = "active" | "upcoming" | "ended";

export function tournamentStatus(t: TournamentTimes, now: number): TournamentStatus {
  if (instanceAt(t, now)) return "active";
  return nextInstance(t, now) ? "upcoming" : "ended";
}

/** One prize bracket: ranks fromRank..toRank, or the best topPercent % of the instance's players. */
export type Bracket =
  | { fromRank: number; toRank: number; reward: unknown }
  | { topPercent: number; reward: unknown };

/** Why a bracket list cannot be used, or null. */
export function bracketsProblem(brackets: readonly Bracket[]): string | null {
  for (const [i, b] of brackets.entries()) {
    if ("topPercent" in b) {
      if (!(b.topPercent > 0 && b.topPercent <= 100))
        return `prizes[${i}].topPercent must be in (0, 100]`;
    } else if (b.toRank < b.fromRank) return `prizes[${i}]: toRank must be >= fromRank`;
  }
  return null;
}

/** Why prize brackets cannot be attached to a board with these periods, or null. */
export function boardPrizesProblem(
  periods: readonly string[],
  brackets: readonly Bracket[],
): string | null {
  if (brackets.length > 0 && periods.every((p) => p === "all"))
    return "prizes need a daily, weekly or monthly period: an all-time board never ends, so it never awards them";
  return bracketsProblem(brackets);
}
