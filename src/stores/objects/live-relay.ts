import { relayObjectName } from "../../domain/live-protocol";
import type { AppBindings } from "../../env";

/**
 * The LiveRelay `index` of a board-period. No location hint: a relay is created near the first
 * client that reaches it, where its sockets' messages go, while the one push per update from the
 * board's object crosses the distance once per relay instead of once per socket.
 */
export function liveRelayStub(env: AppBindings, boardId: string, periodKey: string, index: number) {
  return env.LIVE_RELAY.getByName(relayObjectName(boardId, periodKey, index));
}

/** A relay by its object name (the name a relay subscribed with). */
export function liveRelayByName(env: AppBindings, name: string) {
  return env.LIVE_RELAY.getByName(name);
}
