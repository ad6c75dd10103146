import { type Caller, instanceAt, nextInstance } from "../../domain";
import { ApiError } from "../../lib/errors";
import type { Database } from "../../stores/postgres/client";
import type { Tournament } from "../../stores/postgres/schema";
import { grantAttempts, joinInstance } from "../../stores/postgres/tournaments";
import { timesOf } from "./definitions";

/** The player a join or claim acts for: a player token only for its own player. */
export function actingFor(caller: Caller, playerId: string): void {
  if (caller.kind === "player" && caller.playerId !== playerId)
    throw new ApiError(
      "FORBIDDEN",
      `a player token for "${caller.playerId}" cannot act for "${playerId}"`,
    );
}

/**
 * Joins the instance running at `now`, or the next one when none runs (players sign up ahead).
 * Idempotent: joining again answers the same entry. 409 TOURNAMENT_FULL when no place is left.
 */
export async function joinTournament(
  db: Database,
  t: Tournament,
  playerId: string,
  now: number,
): Promise<{ instanceKey: string; joined: boolean }> {
  const times = timesOf(t);
  const instance = instanceAt(times, now) ?? nextInstance(times, now);
  if (!instance) throw new ApiError("CONFLICT", `Tournament "${t.id}" has ended`);
  const outcome = await joinInstance(db, t.id, instance.key, playerId, t.maxPlayers);
  if (outcome === "full")
    throw new ApiError(
      "TOURNAMENT_FULL",
      `Tournament "${t.id}" instance ${instance.key} is full (${t.maxPlayers} players)`,
      { instance: instance.key, maxPlayers: t.maxPlayers },
    );
  return { instanceKey: instance.key, joined: outcome === "joined" };
}

/** Grants a joined player `count` more attempts on an instance (the running one by default). */
export async function grantMoreAttempts(
  db: Database,
  t: Tournament,
  input: { playerId: string; instance?: string | undefined; count: number },
  now: number,
) {
  const instanceKey = input.instance ?? instanceAt(timesOf(t), now)?.key;
  if (!instanceKey)
    throw new ApiError("BAD_REQUEST", "no instance is running: name one with `instance`");
  const granted = await grantAttempts(
    db,
    { tournamentId: t.id, instanceKey, playerId: input.playerId },
    input.count,
  );
  if (!granted)
    throw new ApiError(
      "NOT_FOUND",
      `player "${input.playerId}" has not joined instance ${instanceKey} of "${t.id}"`,
    );
  return { instanceKey, playerId: input.playerId, ...granted };
}
