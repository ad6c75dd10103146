import type { Context } from "hono";
import { readTournament } from "../../services/tournaments/definitions";
import { readableInstance } from "../../services/tournaments/standings";
import type { AppContext } from "../context";

/**
 * What every read of one tournament instance starts with, as boardPeriodOf is for boards: the
 * tournament (404 if unknown), the instance asked for or the one running (else the last that
 * ended; 404 if none), and the stores to read from.
 */
export async function instanceOf(
  c: Context<AppContext>,
  tournamentId: string,
  instanceKey: string | undefined,
) {
  const reads = c.get("stores");
  const tournament = await readTournament(reads.db(), tournamentId);
  const instance = readableInstance(tournament, instanceKey, Date.now());
  return { tournament, instance, reads };
}
