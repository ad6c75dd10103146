import { leaderboardObjectName } from "../do/object-name";
import type { AppBindings } from "../env";

/** The LeaderboardDO of one board-period (creating a stub is free; it does not wake the object). */
export function leaderboardStub(env: AppBindings, boardId: string, periodKey: string) {
  return env.LEADERBOARD.getByName(leaderboardObjectName(boardId, periodKey));
}
