/**
 * Brute-force reference for the LeaderboardDO: keeps the newest version of EVERY player and
 * answers by sorting them all with the domain comparator, so the object's incremental structure
 * is checked against an independent definition of the order.
 */

import { compareEntries, type SortOrder } from "../../../src/domain";
import type { EntryState, RankedEntryView } from "../../../src/domain/leaderboard";
import { makeRandom } from "../../domain/prng";

export class ReferenceBoard {
  readonly latest = new Map<string, EntryState>();

  constructor(readonly sortOrder: SortOrder) {}

  apply(changes: readonly EntryState[]): void {
    for (const change of changes) {
      const current = this.latest.get(change.playerId);
      if (current !== undefined && change.version <= current.version) continue;
      this.latest.set(change.playerId, {
        ...change,
        displayName:
          change.displayName === undefined ? (current?.displayName ?? null) : change.displayName,
        metadata: change.metadata === undefined ? (current?.metadata ?? null) : change.metadata,
      });
    }
  }

  /** Every player, better first, as ranked views. */
  ranked(): RankedEntryView[] {
    return [...this.latest.values()].sort(compareEntries(this.sortOrder)).map((e, i) => ({
      rank: i + 1,
      playerId: e.playerId,
      score: e.score,
      reachedAt: e.reachedAt,
      displayName: e.displayName ?? null,
      metadata: e.metadata ?? null,
    }));
  }

  top(n: number): RankedEntryView[] {
    return this.ranked().slice(0, n);
  }

  /** Players with a score at least as good as `score` (a new score ranks after them). */
  aheadOfScore(score: number): number {
    let ahead = 0;
    for (const e of this.latest.values()) {
      if (this.sortOrder === "desc" ? e.score >= score : e.score <= score) ahead += 1;
    }
    return ahead;
  }
}

/**
 * Random "best"-like histories: each player's successive versions only get better (better score,
 * or the same score reached earlier), so the held top-N must always equal the reference's top-N.
 * Returns the changes in version order per player; callers shuffle and repeat them.
 */
export function improvingHistory(
  seed: number,
  sortOrder: SortOrder,
  players: number,
  versionsPerPlayer: number,
): EntryState[] {
  const random = makeRandom(seed);
  const out: EntryState[] = [];
  for (let p = 0; p < players; p += 1) {
    const playerId = `p${String(p).padStart(3, "0")}`;
    // Small score range so ties (score and reachedAt) are common and the tie-breaks are exercised.
    let score = random.int(0, 30);
    let reachedAt = 1_000 + random.int(0, 20);
    for (let v = 1; v <= versionsPerPlayer; v += 1) {
      if (v > 1) {
        if (random.next() < 0.3) reachedAt = Math.max(0, reachedAt - random.int(1, 5));
        else score += sortOrder === "desc" ? random.int(1, 6) : -random.int(1, 6);
      }
      out.push({ playerId, score, reachedAt, version: v });
    }
  }
  return out;
}

/** Arbitrary histories: scores move both ways (latest/increment boards). */
export function arbitraryHistory(
  seed: number,
  players: number,
  versionsPerPlayer: number,
): EntryState[] {
  const random = makeRandom(seed);
  const out: EntryState[] = [];
  for (let p = 0; p < players; p += 1) {
    const playerId = `q${String(p).padStart(3, "0")}`;
    for (let v = 1; v <= versionsPerPlayer; v += 1) {
      out.push({
        playerId,
        score: random.int(-20, 40),
        reachedAt: 1_000 + random.int(0, 30),
        version: v,
      });
    }
  }
  return out;
}

/** Splits `items` into consecutive batches of random sizes in 1..max. */
export function batches<T>(seed: number, items: readonly T[], max: number): T[][] {
  const random = makeRandom(seed);
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const size = random.int(1, max);
    out.push(items.slice(i, i + size));
    i += size;
  }
  return out;
}
