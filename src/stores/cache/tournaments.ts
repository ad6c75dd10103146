import type { Tournament } from "../postgres/schema";
import { ExpiringMemory } from "./memory";

/**
 * Tournament definitions kept in the isolate, so a read of standings (served like a board page)
 * makes no query for the tournament itself. A definition does not change once created (no route
 * edits it; instances, finalisation and attempts live elsewhere), so a minute is safe; an unknown
 * id is never kept, so a tournament is readable as soon as it is created.
 */
const KEEP_MS = 60_000;
const definitions = new ExpiringMemory<Tournament>(1_000);

export function cachedTournament(id: string, now: number): Tournament | undefined {
  return definitions.get(id, now);
}

export function keepTournament(tournament: Tournament, now: number): void {
  definitions.set(tournament.id, tournament, now + KEEP_MS);
}
