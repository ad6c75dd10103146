/**
 * Shared fixtures of the Redis rank store tests: a seeded random board-period (its final rows and
 * a messy delivery of every version), the brute-force reference order, and raw key snapshots.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { openRedis } from "../../../src/stores/redis/client";
import { rankKeys } from "../../../src/stores/redis/keys";
import type { RedisRankRow } from "../../../src/stores/redis/ranks";
import { makeRandom } from "../../domain/prng";
import { testEnv } from "../../helpers/factories";

/** The worker's Upstash client on the test Redis (the files using it skip without REDIS_URL). */
export function testRedis(): Redis {
  const redis = openRedis(testEnv);
  if (!redis) throw new Error("Redis bindings missing although UPSTASH_REDIS_REST_URL is set");
  return redis;
}

/** One row as the store ranks it. */
export type Row = RedisRankRow;

/**
 * Reference order: (sortScore, reachedAt, playerId by UTF-16 code unit), written independently of
 * the store.
 */
export function compareRows(a: Row, b: Row): number {
  if (a.sortScore !== b.sortScore) return a.sortScore < b.sortScore ? -1 : 1;
  if (a.reachedAt !== b.reachedAt) return a.reachedAt < b.reachedAt ? -1 : 1;
  const n = Math.min(a.playerId.length, b.playerId.length);
  for (let i = 0; i < n; i += 1) {
    const d = a.playerId.charCodeAt(i) - b.playerId.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.playerId.length - b.playerId.length;
}

export function sortRows(rows: readonly Row[]): Row[] {
  return [...rows].sort(compareRows);
}

const MAX = Number.MAX_SAFE_INTEGER;
const BASE = Date.UTC(2026, 10, 22, 12);
// Few distinct values so ties on score and on reachedAt are everywhere; 999_999_999_999 needs the
// zero padding (12 digits) to sort before 1_000_000_000_000.
const REACHED = [999_999_999_999, 1_000_000_000_000, BASE, BASE + 1, BASE + 2, BASE + 1000];
// The API's player id alphabet, with the characters that sort around ':' and '|' and digits.
const ID_CHARS = "aAzZ09_.:@|-";

export interface RandomBoard {
  /** The final state of every player (its highest version). */
  finals: Row[];
  /** Every version of every player plus repeats, shuffled: what a messy queue would deliver. */
  deliveries: Row[];
  /** Older versions only, for "stale after newer" checks. */
  stale: Row[];
}

/**
 * A seeded board-period of n players, each with 1-4 versions, delivered out of order with repeats.
 */
export function randomBoard(seed: number, n: number): RandomBoard {
  const rnd = makeRandom(seed);
  const ids = new Set<string>(["p1", "p10", "p1:0", "p1|x", "P1"]);
  while (ids.size < n) {
    let id = "";
    for (let i = rnd.int(1, 5); i > 0; i -= 1) id += rnd.pick([...ID_CHARS]);
    ids.add(id);
  }
  const score = () => {
    const r = rnd.next();
    if (r < 0.02) return MAX;
    if (r < 0.04) return -MAX;
    if (r < 0.06) return rnd.int(-MAX, MAX);
    return rnd.int(-5, 5);
  };
  const finals: Row[] = [];
  const all: Row[] = [];
  const stale: Row[] = [];
  for (const playerId of ids) {
    const versions = rnd.int(1, 4);
    for (let version = 1; version <= versions; version += 1) {
      const row = { playerId, version, sortScore: score(), reachedAt: rnd.pick(REACHED) };
      all.push(row);
      if (version === versions) finals.push(row);
      else stale.push(row);
    }
  }
  const repeats = Array.from({ length: Math.floor(all.length / 5) }, () => rnd.pick(all));
  return { finals, deliveries: rnd.shuffle([...all, ...repeats]), stale: rnd.shuffle(stale) };
}

/** Splits into batches of 1-50, the way the consumer would hand them over. */
export function batches<T>(items: readonly T[], seed: number): T[][] {
  const rnd = makeRandom(seed);
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const size = rnd.int(1, 50);
    out.push(items.slice(i, i + size));
    i += size;
  }
  return out;
}

/** Everything the store holds for a board-period, for before/after comparisons. */
export async function snapshot(
  redis: Redis,
  keys: { z: string; m: string },
): Promise<{ z: unknown[]; m: unknown }> {
  return {
    z: await redis.zrange(keys.z, 0, -1, { withScores: true }),
    m: await redis.hgetall(keys.m),
  };
}

/**
 * Marks a board-period as loaded whole, as a reload from Postgres would, for tests that deliver
 * every record of it themselves and then exercise the reads (which refuse without the marker).
 */
export async function markLoaded(
  redis: Redis,
  prefix: string,
  bp: { boardId: string; periodKey: string },
): Promise<void> {
  await redis.set(rankKeys(prefix, bp.boardId, bp.periodKey).ready, String(Date.now()));
}

/**
 * Remembers the board-periods a test file writes so its afterAll can delete their keys: test runs
 * share one Redis (each with its own prefix), and nothing else removes what they leave behind.
 */
export function keyTracker(prefix: string) {
  const keys: string[] = [];
  return {
    track(boardId: string, periodKey: string): void {
      const k = rankKeys(prefix, boardId, periodKey);
      keys.push(k.z, k.m, k.ready, k.d);
    },
    async clear(redis: Redis): Promise<void> {
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      keys.length = 0;
    },
  };
}
