import type { AppBindings } from "../../env";
import { DurableReplayStore } from "./replay-store-do";

/**
 * Remembers ids (request signatures) across every PoP for a time. `firstSeen` is true the first
 * time an id is offered within `ttlMs`, false on a repeat, and throws when it cannot tell: the
 * caller then refuses the request, never lets a possible replay through.
 */
export interface ReplayStore {
  firstSeen(id: string, ttlMs: number): Promise<boolean>;
}

/**
 * The ReplayGuard Durable Objects, with or without Upstash: one store is the only way a replay
 * can never slip between two (an id Redis saw, replayed while Redis is down and a fallback is
 * asked). A signature check is one object call, about what an Upstash write costs, since those
 * go to the database's primary region too.
 */
export function replayStoreFor(env: AppBindings): ReplayStore {
  return new DurableReplayStore(env.REPLAY_GUARD);
}
