/**
 * Turns held entries into the rows the API serves. The rank is the position in the held array,
 * which is exact because every player not held ranks after every held one.
 */

import type { RankedEntryView } from "../../domain/leaderboard";
import type { HeldEntry } from "./sorted-entries";

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
export function viewsOf(
  entries: readonly HeldEntry[],
  start: number,
  end: number,
): RankedEntryView[] {
  const views: RankedEntryView[] = [];
  const stop = Math.min(end, entries.length);
  for (let i = Math.max(0, start); i < stop; i += 1) {
    const entry = entries[i];
    if (entry !== undefined) views.push(toView(entry, i));
  }
  return views;
}
