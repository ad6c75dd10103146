import {
  type Bracket,
  bracketsProblem,
  instanceAt,
  nextInstance,
  type Schedule,
  scheduleProblem,
  type TournamentStatus,
  type TournamentTimes,
  tournamentStatus,
} from "../../domain";
import { ApiError } from "../../lib/errors";
import { cachedTournament, keepTournament } from "../../stores/cache/tournaments";
import type { Database } from "../../stores/postgres/client";
import type { Tournament } from "../../stores/postgres/schema";
import {
  insertTournament,
  selectTournamentPage,
  selectTournaments,
} from "../../stores/postgres/tournaments";

export interface TournamentInput {
  id: string;
  name: string;
  sortOrder: "desc" | "asc";
  operator: "best" | "latest" | "increment";
  topSize: number;
  startsAt: string;
  endsAt?: string | undefined;
  schedule?: Schedule | undefined;
  maxPlayers?: number | undefined;
  joinRequired: boolean;
  maxAttempts?: number | undefined;
  prizes: Bracket[];
  metadata?: Record<string, unknown> | undefined;
}

export const timesOf = (t: Tournament): TournamentTimes => ({
  startsAt: t.startsAt,
  endsAt: t.endsAt,
  schedule: t.schedule,
});

/** Creates a tournament (409 when the id is taken, 400 for an unusable window or schedule). */
export async function createTournament(db: Database, input: TournamentInput): Promise<Tournament> {
  const startsAt = new Date(input.startsAt);
  const endsAt = input.endsAt === undefined ? null : new Date(input.endsAt);
  const problem =
    (input.schedule ? scheduleProblem(input.schedule) : null) ??
    (input.schedule === undefined && endsAt === null
      ? "endsAt is required without a schedule (a one-off tournament needs an end)"
      : null) ??
    (endsAt !== null && endsAt <= startsAt ? "endsAt must be after startsAt" : null) ??
    bracketsProblem(input.prizes);
  if (problem) throw new ApiError("BAD_REQUEST", problem);
  const row = await insertTournament(
    db,
    {
      id: input.id,
      name: input.name,
      startsAt,
      endsAt,
      schedule: input.schedule ?? null,
      maxPlayers: input.maxPlayers ?? null,
      joinRequired: input.joinRequired,
      maxAttempts: input.maxAttempts ?? null,
      prizes: input.prizes,
      metadata: input.metadata ?? null,
    },
    input,
  );
  if (!row) throw new ApiError("CONFLICT", `Tournament "${input.id}" already exists`);
  return row;
}

export async function requireTournament(db: Database, id: string): Promise<Tournament> {
  const [row] = await selectTournaments(db, [id]);
  if (!row) throw new ApiError("NOT_FOUND", `Tournament "${id}" does not exist`);
  return row;
}

/**
 * requireTournament for reads: the definition from the isolate's copy when it has one (kept a
 * minute: definitions do not change), so a cached standings read costs what a board page costs.
 */
export async function readTournament(db: Database, id: string): Promise<Tournament> {
  const now = Date.now();
  const held = cachedTournament(id, now);
  if (held) return held;
  const tournament = await requireTournament(db, id);
  keepTournament(tournament, now);
  return tournament;
}

const iso = (d: Date) => d.toISOString();
const instanceView = (i: { key: string; start: Date; end: Date } | null) =>
  i ? { key: i.key, startsAt: iso(i.start), endsAt: iso(i.end) } : null;

/** A tournament as the API shows it, with its status and instances at `now`. */
export function tournamentView(t: Tournament, now: number) {
  const times = timesOf(t);
  return {
    id: t.id,
    name: t.name,
    startsAt: iso(t.startsAt),
    endsAt: t.endsAt ? iso(t.endsAt) : null,
    schedule: t.schedule,
    maxPlayers: t.maxPlayers,
    joinRequired: t.joinRequired,
    maxAttempts: t.maxAttempts,
    prizes: t.prizes,
    metadata: t.metadata,
    status: tournamentStatus(times, now),
    currentInstance: instanceView(instanceAt(times, now)),
    nextInstance: instanceView(nextInstance(times, now)),
  };
}

/**
 * A page of tournaments with one status at `now`, in id order. The window columns narrow the scan;
 * the status itself (a recurring one may be between instances) is decided per row.
 */
export async function listTournaments(
  db: Database,
  status: TournamentStatus,
  now: number,
  options: { limit: number; cursor?: string | undefined },
): Promise<{ tournaments: Tournament[]; nextCursor: string | null }> {
  const found: Tournament[] = [];
  let after = options.cursor ?? "";
  // A few scans at most: rows of the window whose status differs are skipped.
  for (let scans = 0; scans < 5; scans += 1) {
    const rows = await selectTournamentPage(db, status, new Date(now), after, 100);
    for (const row of rows) {
      after = row.id;
      if (tournamentStatus(timesOf(row), now) === status) found.push(row);
      if (found.length === options.limit) return { tournaments: found, nextCursor: after };
    }
    if (rows.length < 100) return { tournaments: found, nextCursor: null };
  }
  return { tournaments: found, nextCursor: after };
}
