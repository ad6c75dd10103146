/**
 * Latest version seen for players the object does NOT hold (pushed out, fallen out, or never in
 * the top). Without it, a stale state that arrives after a newer one was rejected or dropped
 * would look new: on latest/increment boards an old state can be better than the current one,
 * so it would re-enter the top-N with a score the player no longer has.
 *
 * Out-of-order delivery only happens between projections in flight at the same time (a
 * redelivered batch re-reads the current row), so the window is short: memory only, bounded,
 * oldest forgotten first. Losing it on eviction is fine because an evicted object had no
 * projections in flight.
 */
export class RecentVersions {
  readonly #versions = new Map<string, number>();

  constructor(readonly capacity = 20_000) {}

  /** Latest version seen for a player not held, if still remembered. */
  get(playerId: string): number | undefined {
    return this.#versions.get(playerId);
  }

  /** Remembers `version` unless a newer one is already known; refreshes the player's age. */
  remember(playerId: string, version: number): void {
    const known = this.#versions.get(playerId);
    this.#versions.delete(playerId);
    this.#versions.set(playerId, known !== undefined && known > version ? known : version);
    if (this.#versions.size > this.capacity) {
      // Maps iterate in insertion order, so the first key is the least recently touched.
      const oldest = this.#versions.keys().next();
      if (!oldest.done) this.#versions.delete(oldest.value);
    }
  }

  /** The player is held again: the held entry carries its version. */
  forget(playerId: string): void {
    this.#versions.delete(playerId);
  }

  get size(): number {
    return this.#versions.size;
  }
}
