import { instanceAt } from "../../domain";
import type { RejectionCode } from "../../domain/rejection-codes";
import type { Database } from "../../stores/postgres/client";
import type { Tournament } from "../../stores/postgres/schema";
import {
  joinInstance,
  selectTournaments,
  tournamentBoardId,
  useAttempt,
} from "../../stores/postgres/tournaments";
import { timesOf } from "./definitions";

/** Where a tournament event's score goes: its hidden board, the instance running at acceptance. */
export interface TournamentRoute {
  tournament: Tournament;
  boardId: string;
  periodKey: string;
}

type Refusal = { code: RejectionCode; message: string };

/** The tournaments these events name, loaded in one query (null: none named). */
export async function loadNamedTournaments(
  db: () => Database,
  ids: string[],
): Promise<Map<string, Tournament>> {
  if (ids.length === 0) return new Map();
  const rows = await selectTournaments(db(), [...new Set(ids)]);
  return new Map(rows.map((t) => [t.id, t]));
}

/**
 * The board-period a tournament event scores on, or why it is refused: the tournament must exist
 * and an instance must be running at the event's acceptance time `now` (start inclusive, end
 * exclusive), whatever its occurredAt says: the device clock decides nothing here.
 */
export function routeTournamentEvent(
  tournaments: Map<string, Tournament>,
  event: { tournamentId: string; boardId?: string | undefined },
  now: number,
): TournamentRoute | Refusal {
  if (event.boardId !== undefined)
    return {
      code: "INVALID_EVENT",
      message: "name either boardId or tournamentId: a tournament event scores on its tournament",
    };
  const tournament = tournaments.get(event.tournamentId);
  if (!tournament)
    return {
      code: "UNKNOWN_TOURNAMENT",
      message: `tournament "${event.tournamentId}" does not exist`,
    };
  const instance = instanceAt(timesOf(tournament), now);
  if (!instance)
    return {
      code: "TOURNAMENT_NOT_RUNNING",
      message: `tournament "${tournament.id}" has no instance running at ${new Date(now).toISOString()}`,
    };
  return { tournament, boardId: tournamentBoardId(tournament.id), periodKey: instance.key };
}

/**
 * The join and attempt rules, checked at ingest for an event that passed every other check. They
 * are counted here, not in the consumer's batch statement, because the client learns its per-item
 * answer in the 202 (a refusal in the consumer could only be logged), and each is one atomic
 * statement (services/stores: joinInstance, useAttempt); a retried event (same id) uses no second
 * attempt. A tournament without places, joins or attempts to count costs no query at all.
 */
export async function admitTournamentEvent(
  db: () => Database,
  route: TournamentRoute,
  event: { id: string; playerId: string },
): Promise<Refusal | null> {
  const t = route.tournament;
  const key = { tournamentId: t.id, instanceKey: route.periodKey, playerId: event.playerId };
  if (!t.joinRequired && (t.maxPlayers !== null || t.maxAttempts !== null)) {
    // Joining is implicit here, but still takes a place (and holds the attempt count).
    const joined = await joinInstance(db(), t.id, route.periodKey, event.playerId, t.maxPlayers);
    if (joined === "full")
      return { code: "TOURNAMENT_FULL", message: `tournament "${t.id}" is full for this instance` };
  }
  if (!t.joinRequired && t.maxAttempts === null) return null;
  const outcome = await useAttempt(db(), { ...key, eventId: event.id }, t.maxAttempts);
  if (outcome === "not_joined")
    return {
      code: "TOURNAMENT_NOT_JOINED",
      message: `player "${event.playerId}" has not joined tournament "${t.id}" (POST /v1/tournaments/${t.id}/join)`,
    };
  if (outcome === "exhausted")
    return {
      code: "TOURNAMENT_ATTEMPTS_EXHAUSTED",
      message: `player "${event.playerId}" has used all ${t.maxAttempts} attempts of this instance`,
    };
  return null;
}
