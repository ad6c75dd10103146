import type { Redis } from "@upstash/redis/cloudflare";
import { withTimeout } from "../../lib/timeout";
import { rankKeys } from "./keys";
import { REMOVE_SCRIPT } from "./lua";
import { replyInt } from "./reply";
import { pipelineScriptCapped, type ScriptCall } from "./script";

/** A record a moderator took out of Postgres, with the last version Postgres had of it. */
export interface RedisRemoval {
  boardId: string;
  periodKey: string;
  playerId: string;
  version: number;
}

/** Bound of the whole removal (one pipeline per 100 board-periods). */
const REMOVE_TIMEOUT_MS = 5_000;

/**
 * Takes the records out of Redis in one pipeline: one REMOVE_SCRIPT call per board-period (its
 * keys only). A player whose stored version is newer than the removed one is left alone (a record
 * written since), so running it again later, after a stale projection landed, is safe. Returns
 * how many entries were removed.
 */
export async function removeFromRedis(
  redis: Redis,
  prefix: string,
  removals: readonly RedisRemoval[],
): Promise<number> {
  const calls = new Map<string, ScriptCall>();
  for (const r of removals) {
    const keys = rankKeys(prefix, r.boardId, r.periodKey);
    let call = calls.get(keys.z);
    if (!call) {
      call = { keys: [keys.z, keys.m, keys.ready, keys.d], args: [] };
      calls.set(keys.z, call);
    }
    call.args.push(r.playerId, String(r.version));
  }
  if (calls.size === 0) return 0;
  const replies = await withTimeout(
    pipelineScriptCapped(redis, REMOVE_SCRIPT, [...calls.values()]),
    REMOVE_TIMEOUT_MS,
    "Redis rank removal",
  );
  return replies.reduce<number>((sum, reply) => sum + replyInt(reply, "removed count"), 0);
}
