/**
 * Changes that arrive while a rebuild waits for Postgres. The snapshot may or may not contain
 * them (it is taken at some point during the wait), so after replacing the held set with the
 * snapshot they are replayed on top of it; the version guard makes each one apply exactly when
 * it is newer than the snapshot. Changes applied before the rebuild started were committed
 * before its query, so the snapshot already has them.
 *
 * While waiting, those changes also taught the set their versions (remembered for players not
 * held). Those must not veto the replay, so the journal keeps what was known for each player
 * BEFORE its first journaled change and restores it ahead of the replay.
 */

import type { EntryState } from "../../domain/leaderboard";
import type { TopSet, TopSetDiff } from "./top-set";

/** One rebuild's journal: created when the Postgres read starts, merged once it returns. */
export class RebuildJournal {
  readonly #changes: EntryState[] = [];
  readonly #knownBefore = new Map<string, number | undefined>();
  /** Removals (moderation) made meanwhile: the snapshot may predate them, so they run again. */
  readonly #removals: Array<{ playerId: string; version: number }> = [];

  /** Call BEFORE applying `changes` to the live set. */
  record(top: TopSet, changes: readonly EntryState[]): void {
    for (const change of changes) {
      if (!this.#knownBefore.has(change.playerId))
        this.#knownBefore.set(change.playerId, top.knownVersion(change.playerId));
      this.#changes.push(change);
    }
  }

  /** Call BEFORE removing from the live set. */
  recordRemovals(top: TopSet, removals: ReadonlyArray<{ playerId: string; version: number }>) {
    for (const removal of removals) {
      if (!this.#knownBefore.has(removal.playerId))
        this.#knownBefore.set(removal.playerId, top.knownVersion(removal.playerId));
      this.#removals.push(removal);
    }
  }

  get size(): number {
    return this.#changes.length;
  }

  /** Replaces the set with the snapshot, then replays; returns both diffs, in write order. */
  mergeInto(top: TopSet, snapshot: readonly EntryState[]): TopSetDiff[] {
    const replaced = top.replace(snapshot);
    for (const [playerId, version] of this.#knownBefore) top.resetKnownVersion(playerId, version);
    const replayed = top.apply(this.#changes);
    if (this.#removals.length === 0) return [replaced, replayed];
    return [replaced, replayed, top.remove(this.#removals)];
  }
}
