/**
 * Turns held entries into the rows the API serves. The rank is the position in the held array,
 * which is exact because every player not held ranks after every held one.
 */
import type { HeldEntry } from "./sorted-entries";
import type { ApiEntry, RankedEntryView } from "./types";

/** The served form of the entry at 0-based `index`. */
export function toView(entry: HeldEntry, index: number): RankedEntryView {
  return {
    rank: index + 1,
    playerId: entry.playerId,
    score: entry.score,
    reachedAt: entry.reachedAt,
    displayName: entry.displayName,
    metadata: entry.metadata,
  };
}

/** Views of entries[start, end), ranked by position. */
export function viewsOf(entries: readonly HeldEntry[], start: number, end: number): RankedEntryView[] {
  const views: RankedEntryView[] = [];
  const stop = Math.min(end, entries.length);
  for (let i = Math.max(0, start); i < stop; i += 1) {
    const entry = entries[i];
    if (entry !== undefined) views.push(toView(entry, i));
  }
  return views;
}

/** An entry as the API serves it; the one mapping for Durable Object, Redis and Postgres reads. */
export function apiEntry(view: RankedEntryView): ApiEntry {
  // One literal, no spreads: pages map up to 100 entries per request. Undefined fields are left
  // out by JSON.stringify.
  return {
    rank: view.rank,
    playerId: view.playerId,
    displayName: view.displayName || undefined,
    score: view.score,
    reachedAt: new Date(view.reachedAt).toISOString(),
    metadata: (view.metadata as Record<string, unknown> | null) ?? undefined,
  };
}
