import type { BoardSpec, Random } from "./events.ts";
import { call, sleep, type Traffic } from "./http.ts";
import type { Stack } from "./stack.ts";

/** The read routes a player's client calls, by the label their answers are counted under. */
export const READ_ROUTES = [
  "GET page",
  "GET player rank",
  "GET around",
  "POST friends",
  "GET player ranks",
  "GET rank-of",
] as const;

/**
 * One client reading in a loop until `stop()` says so: a random read route, board and player
 * (seeded) each time, every answer recorded in whatever `traffic()` returns at that moment (so a
 * case can count the answers of an outage apart from the others).
 */
export async function readLoop(
  stack: Stack,
  boards: BoardSpec[],
  players: string[],
  random: Random,
  traffic: () => Traffic,
  stop: () => boolean,
  pauseMs = 20,
): Promise<void> {
  while (!stop()) {
    const board = random.pick(boards);
    const player = random.pick(players);
    const route = random.pick(READ_ROUTES);
    const base = stack.worker.base;
    const options = { traffic: traffic(), route };
    switch (route) {
      case "GET page":
        await call(
          base,
          "GET",
          `/v1/leaderboards/${board.id}?period=${random.pick(board.periods)}&limit=25`,
          options,
        );
        break;
      case "GET player rank":
        await call(base, "GET", `/v1/leaderboards/${board.id}/players/${player}`, options);
        break;
      case "GET around":
        await call(
          base,
          "GET",
          `/v1/leaderboards/${board.id}/players/${player}/around?n=3`,
          options,
        );
        break;
      case "POST friends":
        await call(base, "POST", `/v1/leaderboards/${board.id}/players`, {
          ...options,
          body: { playerIds: Array.from({ length: 10 }, () => random.pick(players)) },
        });
        break;
      case "GET player ranks":
        await call(base, "GET", `/v1/players/${player}/ranks`, options);
        break;
      case "GET rank-of":
        await call(
          base,
          "GET",
          `/v1/leaderboards/${board.id}/rank-of?score=${random.int(0, 1_000_000)}`,
          options,
        );
        break;
    }
    if (pauseMs > 0) await sleep(pauseMs);
  }
}
