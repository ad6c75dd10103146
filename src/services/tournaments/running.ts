import { instanceAt } from "../../domain";
import type { Database } from "../../stores/postgres/client";
import { selectTournamentPage } from "../../stores/postgres/tournaments";
import { timesOf } from "./definitions";

/**
 * The board-periods of the tournament instances running at `now` (the first `limit` tournaments
 * by id). The rank reconciliation loads them into Redis like a board's current periods: a hidden
 * board's own periods ("all") never name an instance key.
 */
export async function runningInstancePeriods(
  db: Database,
  now: Date,
  limit: number,
): Promise<Array<{ boardId: string; periodKey: string }>> {
  const rows = await selectTournamentPage(db, "active", now, "", limit);
  return rows.flatMap((t) => {
    const instance = instanceAt(timesOf(t), now.getTime());
    return instance ? [{ boardId: t.boardId, periodKey: instance.key }] : [];
  });
}
