/**
 * The held top-N as a plain array kept sorted "better first", with binary-search insert and
 * remove, so a change costs O(log n) comparisons plus one splice instead of a re-sort of up to
 * 10,000 entries. Pure: no bindings, unit-tested on its own.
 *
 * Order: sortScore ascending (sortScore = -score on desc boards, score on asc boards, the same
 * column Postgres ranks by), then earlier reachedAt, then playerId by UTF-16 code unit. This is
 * exactly domain `compareEntries` for the board's sort order, and Postgres
 * `order by sort_score, reached_at, player_id` with player_id in COLLATE "C".
 */
import type { SortOrder } from "../../domain";
import type { Metadata } from "../../domain/leaderboard";

/** The fields that decide a position. */
export interface SortKey {
  readonly sortScore: number;
  readonly reachedAt: number;
  readonly playerId: string;
}

/** One held entry. Never mutated in place: a change replaces the object, so the order holds. */
export interface HeldEntry extends SortKey {
  readonly score: number;
  readonly version: number;
  readonly displayName: string | null;
  readonly metadata: Metadata | null;
}

/** The board-independent ranking value (`0 - score`, unlike `-score`, never yields -0). */
export function toSortScore(sortOrder: SortOrder, score: number): number {
  return sortOrder === "desc" ? 0 - score : score;
}

/** Negative when `a` ranks ahead of `b`; 0 only for the same position (same player). */
export function compareKeys(a: SortKey, b: SortKey): number {
  if (a.sortScore !== b.sortScore) return a.sortScore < b.sortScore ? -1 : 1;
  if (a.reachedAt !== b.reachedAt) return a.reachedAt < b.reachedAt ? -1 : 1;
  if (a.playerId !== b.playerId) return a.playerId < b.playerId ? -1 : 1;
  return 0;
}

/** First index whose entry does not rank ahead of `key` (where `key` would be inserted). */
export function lowerBound(entries: readonly SortKey[], key: SortKey): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const entry = entries[mid];
    if (entry !== undefined && compareKeys(entry, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose entry ranks strictly after `key`: where a keyset page after `key` starts. */
export function upperBound(entries: readonly SortKey[], key: SortKey): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const entry = entries[mid];
    if (entry !== undefined && compareKeys(entry, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Number of entries whose sortScore is at most `sortScore`: a new score ranks after every equal
 * one already held (it would reach them later), so its rank is this count plus one.
 */
export function countAtOrAhead(entries: readonly SortKey[], sortScore: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const entry = entries[mid];
    if (entry !== undefined && entry.sortScore <= sortScore) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts `entry` at its position; returns that index. The player must not already be present. */
export function insertSorted<T extends SortKey>(entries: T[], entry: T): number {
  const index = lowerBound(entries, entry);
  entries.splice(index, 0, entry);
  return index;
}

/** Index of the entry at exactly `key` (same player and position), or -1. */
export function indexOfKey(entries: readonly SortKey[], key: SortKey): number {
  const index = lowerBound(entries, key);
  const found = entries[index];
  return found !== undefined && compareKeys(found, key) === 0 ? index : -1;
}

/** Removes the entry at exactly `key`; returns the index it had, or -1 if absent. */
export function removeSorted<T extends SortKey>(entries: T[], key: SortKey): number {
  const index = indexOfKey(entries, key);
  if (index >= 0) entries.splice(index, 1);
  return index;
}
