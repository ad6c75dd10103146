import type { AppBindings } from "../../env";

/**
 * Remembers ids (request signatures) across every PoP for a time. `firstSeen` is true the first
 * time an id is offered within `ttlMs`, false on a repeat, and throws when it cannot tell: the
 * caller then refuses the request, never lets a possible replay through.
 */
export interface ReplayStore {
  firstSeen(id: string, ttlMs: number): Promise<boolean>;
}

/**
 * The shard of an id: its first two characters, so signatures (hex) spread over 256 ReplayGuard
 * objects, each far below one object's request ceiling, and all PoPs ask the same object.
 */
export function replayShardOf(id: string): string {
  return id.slice(0, 2);
}

/**
 * Replay store on the ReplayGuard Durable Objects: global and consistent, a round trip to the
 * object's location.
 */
export class DurableReplayStore implements ReplayStore {
  constructor(private readonly namespace: AppBindings["REPLAY_GUARD"]) {}

  firstSeen(id: string, ttlMs: number): Promise<boolean> {
    return this.namespace.getByName(replayShardOf(id)).firstSeen(id, ttlMs);
  }
}

/**
 * The ReplayGuard objects, with or without Upstash: one store is the only way a replay can never
 * slip between two (an id Redis saw, replayed while Redis is down and a fallback is asked). A
 * signature check is one object call, about what an Upstash write costs, since those go to the
 * database's primary region too.
 */
export function replayStoreFor(env: AppBindings): ReplayStore {
  return new DurableReplayStore(env.REPLAY_GUARD);
}
