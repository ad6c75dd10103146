import type { ReplayGuard } from "../../do/replay-guard";
import type { ReplayStore } from "./replay-store";

/**
 * The shard of an id: its first two characters, so signatures (hex) spread over 256 ReplayGuard
 * objects, each far below one object's request ceiling, and all PoPs ask the same object.
 */
export function replayShardOf(id: string): string {
  return id.slice(0, 2);
}

/** Replay store on the ReplayGuard Durable Objects: global and consistent, a round trip to the object's location. */
export class DurableReplayStore implements ReplayStore {
  constructor(private readonly namespace: DurableObjectNamespace<ReplayGuard>) {}

  firstSeen(id: string, ttlMs: number): Promise<boolean> {
    return this.namespace.getByName(replayShardOf(id)).firstSeen(id, ttlMs);
  }
}
