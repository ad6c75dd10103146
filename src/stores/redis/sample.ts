import type { Redis } from "@upstash/redis/cloudflare";
import { withTimeout } from "../../lib/timeout";
import { rankKeys } from "./keys";
import { SAMPLE_SCRIPT } from "./lua";
import { decodeMemberRecord } from "./member";
import { replyArray, replyInt } from "./reply";
import { runScript } from "./script";

/** What Redis holds of one sampled player: its HASH record and its member's ZSET score. */
interface SampledRecord {
  version: number;
  member: string;
  /** The member's score in the ZSET; null when the HASH names a member the ZSET lacks. */
  sortScore: number | null;
}

/** A board-period's keys as one sample read saw them. */
export interface RedisSample {
  /** The ready marker (epoch ms); null without one. */
  marker: number | null;
  /** ZCARD and HLEN: a ready board-period has as many of each. */
  players: number;
  records: number;
  /** Per player asked, in order; null when the HASH has no (well-formed) record of it. */
  sampled: Array<SampledRecord | null>;
}

/** Most players one sample call takes, so the script's run (and its key lock) stays short. */
export const SAMPLE_MAX_PLAYERS = 500;
const SAMPLE_TIMEOUT_MS = 5_000;

/**
 * Reads the marker, the counts and the given players' records of one board-period in ONE script
 * call (SAMPLE_SCRIPT, read-only), for the reconciliation to compare with Postgres.
 */
export async function sampleFromRedis(
  redis: Redis,
  prefix: string,
  boardId: string,
  periodKey: string,
  playerIds: readonly string[],
): Promise<RedisSample> {
  if (playerIds.length > SAMPLE_MAX_PLAYERS)
    throw new RangeError(`sampleFromRedis: at most ${SAMPLE_MAX_PLAYERS} players per call`);
  const keys = rankKeys(prefix, boardId, periodKey);
  const reply = replyArray(
    await withTimeout(
      runScript(redis, SAMPLE_SCRIPT, [keys.z, keys.m, keys.ready], [...playerIds]),
      SAMPLE_TIMEOUT_MS,
      "Redis sample read",
    ),
    "sample",
  );
  const marker = reply[0] === null || reply[0] === undefined ? null : replyInt(reply[0], "marker");
  return {
    marker,
    players: replyInt(reply[1], "players"),
    records: replyInt(reply[2], "records"),
    sampled: playerIds.map((_, i) => {
      const record = reply[3 + 2 * i];
      const decoded = typeof record === "string" ? decodeMemberRecord(record) : null;
      if (!decoded) return null;
      const score = reply[4 + 2 * i];
      return {
        ...decoded,
        sortScore: score === null || score === undefined ? null : replyInt(score, "score"),
      };
    }),
  };
}
