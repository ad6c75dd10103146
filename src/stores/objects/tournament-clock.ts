import type { AppBindings } from "../../env";

/** The TournamentClock of one tournament (creating a stub is free; it does not wake the object). */
export function tournamentClockStub(env: AppBindings, tournamentId: string) {
  return env.TOURNAMENT_CLOCK.getByName(tournamentId);
}
