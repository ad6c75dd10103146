/**
 * The held top-N of one board-period and the rules for changing it. Pure (no bindings): the
 * Durable Object persists what `apply`/`replace`/`resize` report, and tests drive it directly.
 *
 * Invariant ("exact prefix"): every held entry ranks ahead of every player that is not held, and
 * held entries are in board order, so the rank of a held entry is exact. `complete` additionally
 * says the held entries ARE the top-N: either topSize are held, or every player is held.
 *
 * Losing completeness: players below the top-N are not held, so when a held player's own score
 * gets worse (latest/increment boards) and its new position is past the last held entry, the
 * object cannot know who is really next. Such an entry is dropped (keeping the prefix exact),
 * `complete` becomes false and the owner schedules a rebuild from Postgres. Entries pushed out
 * by better ones never cost completeness. Completeness comes back by itself once topSize entries
 * are held again (an exact prefix of length topSize is the top-N), or by a rebuild.
 */
import type { SortOrder } from "../../domain";
import type { EntryState, Metadata } from "../../domain/leaderboard";
import { RecentVersions } from "./recent-versions";
import {
  compareKeys,
  type HeldEntry,
  indexOfKey,
  insertSorted,
  removeSorted,
  toSortScore,
} from "./sorted-entries";

/** What one call changed, for persistence and live updates. */
export interface TopSetDiff {
  /** Final held rows to write, by player. */
  upserts: Map<string, HeldEntry>;
  /** Players no longer held: delete their rows. */
  removals: Set<string>;
  /** Lowest index whose visible row changed; Infinity when nothing visible changed. */
  firstChangedIndex: number;
}

/** A diff plus how many changes were newer than what was known. */
export interface ApplyOutcome extends TopSetDiff {
  applied: number;
}

function emptyDiff(): TopSetDiff {
  return { upserts: new Map(), removals: new Set(), firstChangedIndex: Number.POSITIVE_INFINITY };
}

function sameMetadata(a: Metadata | null, b: Metadata | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** True when a reader would see a difference between the two states of one player. */
function visiblyDiffers(a: HeldEntry, b: HeldEntry): boolean {
  return (
    a.score !== b.score ||
    a.reachedAt !== b.reachedAt ||
    a.displayName !== b.displayName ||
    !sameMetadata(a.metadata, b.metadata)
  );
}

/** Builds the held form of a state; undefined name/metadata keep what `previous` had. */
function toHeldEntry(sortOrder: SortOrder, state: EntryState, previous?: HeldEntry): HeldEntry {
  return {
    playerId: state.playerId,
    score: state.score,
    sortScore: toSortScore(sortOrder, state.score),
    reachedAt: state.reachedAt,
    version: state.version,
    displayName:
      state.displayName === undefined ? (previous?.displayName ?? null) : state.displayName,
    metadata: state.metadata === undefined ? (previous?.metadata ?? null) : state.metadata,
  };
}

/** The held top-N with the invariant and completeness rules described at the top of this file. */
export class TopSet {
  #entries: HeldEntry[] = [];
  readonly #byPlayer = new Map<string, HeldEntry>();
  #complete = true;
  #revision = 0;

  constructor(
    private sortOrderValue: SortOrder,
    private topSizeValue: number,
    readonly recent: RecentVersions = new RecentVersions(),
  ) {}

  get sortOrder(): SortOrder {
    return this.sortOrderValue;
  }

  get topSize(): number {
    return this.topSizeValue;
  }

  /** Held entries, better first. Read-only view: change it only through this class. */
  /**
   * Bumped by every method that may change the held entries, so a reader can cache something
   * derived from them (the Durable Object's serialized pages) and know when it is stale.
   */
  get revision(): number {
    return this.#revision;
  }

  get entries(): readonly HeldEntry[] {
    return this.#entries;
  }

  get size(): number {
    return this.#entries.length;
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** Every player of the board-period is held, so a new one can be placed anywhere. */
  get allHeld(): boolean {
    return this.#complete && this.#entries.length < this.topSizeValue;
  }

  get(playerId: string): HeldEntry | undefined {
    return this.#byPlayer.get(playerId);
  }

  /** 0-based position of a held player, or -1. O(log n). */
  indexOf(playerId: string): number {
    const entry = this.#byPlayer.get(playerId);
    return entry === undefined ? -1 : indexOfKey(this.#entries, entry);
  }

  /** Newest version known for a player: the held one, else the remembered one. */
  knownVersion(playerId: string): number | undefined {
    return this.#byPlayer.get(playerId)?.version ?? this.recent.get(playerId);
  }

  /**
   * Sets what is remembered for a player that is not held (a held entry's own version wins).
   * Used after a rebuild to undo what changes replayed on top of it taught in the meantime.
   */
  resetKnownVersion(playerId: string, version: number | undefined): void {
    if (this.#byPlayer.has(playerId)) return;
    this.recent.forget(playerId);
    if (version !== undefined) this.recent.remember(playerId, version);
  }

  /**
   * Loads state as persisted (any order; sorted here). Trusts its input: used on wake-up only.
   */
  load(entries: HeldEntry[], complete: boolean): void {
    this.#revision += 1;
    this.#entries = entries.sort(compareKeys);
    this.#byPlayer.clear();
    for (const entry of entries) this.#byPlayer.set(entry.playerId, entry);
    this.#complete = complete;
  }

  /**
   * Applies final record states. A state is applied only if its version is newer than the held
   * one (or the remembered one for a player not held), so repeats and reordering are harmless.
   */
  apply(changes: readonly EntryState[]): ApplyOutcome {
    this.#revision += 1;
    const diff = emptyDiff();
    let applied = 0;
    for (const change of changes) {
      const held = this.#byPlayer.get(change.playerId);
      const known = held !== undefined ? held.version : this.recent.get(change.playerId);
      if (known !== undefined && change.version <= known) continue;
      applied += 1;
      this.#applyOne(toHeldEntry(this.sortOrderValue, change, held), held, diff);
    }
    return { applied, ...diff };
  }

  #applyOne(next: HeldEntry, held: HeldEntry | undefined, diff: TopSetDiff): void {
    // Decided before removing the old entry: a full set does not become "all held" by taking
    // one of its own players out.
    const allHeld = this.allHeld;
    const visible = held === undefined || visiblyDiffers(held, next);
    if (held !== undefined) {
      const index = removeSorted(this.#entries, held);
      this.#byPlayer.delete(held.playerId);
      if (visible) this.#markChanged(diff, index);
    }
    const last = this.#entries[this.#entries.length - 1];
    // A held player that did not get worse keeps an exact place; anyone else needs a place
    // strictly ahead of the last held entry, unless every player is held.
    const admit =
      allHeld ||
      (held !== undefined && compareKeys(next, held) <= 0) ||
      (last !== undefined && compareKeys(next, last) < 0);
    if (!admit) {
      // Past the last held entry with players possibly in between: it cannot be placed.
      this.recent.remember(next.playerId, next.version);
      if (held !== undefined) {
        diff.upserts.delete(held.playerId);
        diff.removals.add(held.playerId);
        // Fell out by getting worse, not by being pushed out: who is really next is unknown.
        this.#complete = false;
      }
      return;
    }
    const index = insertSorted(this.#entries, next);
    this.#byPlayer.set(next.playerId, next);
    this.recent.forget(next.playerId);
    diff.removals.delete(next.playerId);
    diff.upserts.set(next.playerId, next);
    if (visible) this.#markChanged(diff, index);
    this.#truncate(diff);
    this.#regainCompleteness();
  }

  /** Drops entries beyond topSize: they were pushed out by better ones, so nothing is lost. */
  #truncate(diff: TopSetDiff): void {
    while (this.#entries.length > this.topSizeValue) {
      const dropped = this.#entries.pop();
      if (dropped === undefined) break;
      this.#byPlayer.delete(dropped.playerId);
      this.recent.remember(dropped.playerId, dropped.version);
      diff.upserts.delete(dropped.playerId);
      diff.removals.add(dropped.playerId);
      this.#markChanged(diff, this.#entries.length);
    }
  }

  /** An exact prefix of topSize entries is the top-N. */
  #regainCompleteness(): void {
    if (!this.#complete && this.#entries.length >= this.topSizeValue) this.#complete = true;
  }

  #markChanged(diff: TopSetDiff, index: number): void {
    if (index < diff.firstChangedIndex) diff.firstChangedIndex = index;
  }

  /**
   * Takes players out (a moderator removed their records from Postgres, up to `version`). A held
   * entry newer than that is a record written since, and stays. Each version is remembered, so a
   * projection of the removed record still in flight is refused as stale. A full set that loses
   * an entry no longer knows who is next: it becomes incomplete, and its owner rebuilds it.
   */
  remove(removals: ReadonlyArray<{ playerId: string; version: number }>): ApplyOutcome {
    this.#revision += 1;
    const diff = emptyDiff();
    const allHeld = this.allHeld;
    let applied = 0;
    for (const { playerId, version } of removals) {
      const held = this.#byPlayer.get(playerId);
      if (held !== undefined && held.version > version) continue;
      this.recent.remember(playerId, version);
      if (held === undefined) continue;
      const index = removeSorted(this.#entries, held);
      this.#byPlayer.delete(playerId);
      diff.upserts.delete(playerId);
      diff.removals.add(playerId);
      this.#markChanged(diff, index);
      applied += 1;
    }
    if (applied > 0 && !allHeld) this.#complete = false;
    return { applied, ...diff };
  }

  /**
   * Replaces everything with a known-exact top-N (a rebuild from Postgres: `entries` are the
   * first topSize rows in board order). Returns the row-level difference so only changed rows
   * are rewritten.
   */
  replace(states: readonly EntryState[]): TopSetDiff {
    this.#revision += 1;
    const diff = emptyDiff();
    const next: HeldEntry[] = [];
    for (const state of states) next.push(toHeldEntry(this.sortOrderValue, state));
    next.sort(compareKeys);
    if (next.length > this.topSizeValue) next.length = this.topSizeValue;
    const nextByPlayer = new Map(next.map((e) => [e.playerId, e] as const));
    for (const old of this.#entries) {
      if (!nextByPlayer.has(old.playerId)) {
        diff.removals.add(old.playerId);
        this.recent.remember(old.playerId, old.version);
      }
    }
    const length = Math.max(next.length, this.#entries.length);
    for (let i = 0; i < length; i += 1) {
      const before = this.#entries[i];
      const after = next[i];
      if (
        before === undefined ||
        after === undefined ||
        before.playerId !== after.playerId ||
        visiblyDiffers(before, after)
      ) {
        this.#markChanged(diff, i);
        break;
      }
    }
    for (const entry of next) {
      const old = this.#byPlayer.get(entry.playerId);
      if (old === undefined || old.version !== entry.version || visiblyDiffers(old, entry))
        diff.upserts.set(entry.playerId, entry);
      this.recent.forget(entry.playerId);
    }
    this.#entries = next;
    this.#byPlayer.clear();
    for (const [playerId, entry] of nextByPlayer) this.#byPlayer.set(playerId, entry);
    this.#complete = true;
    return diff;
  }

  /**
   * Changes topSize. Shrinking drops the tail and stays complete; growing a full set loses
   * completeness (entries past the old size were never held), so the owner must rebuild.
   */
  resize(topSize: number): TopSetDiff {
    this.#revision += 1;
    const diff = emptyDiff();
    if (topSize < this.topSizeValue) {
      this.topSizeValue = topSize;
      this.#truncate(diff);
    } else if (topSize > this.topSizeValue) {
      const wasFull = this.#entries.length >= this.topSizeValue;
      this.topSizeValue = topSize;
      if (wasFull) this.#complete = false;
    }
    return diff;
  }

  /**
   * Drops everything and waits for a rebuild: used when the sort order changes, since every
   * held position is then meaningless.
   */
  reset(sortOrder: SortOrder, topSize: number): TopSetDiff {
    this.#revision += 1;
    const diff = emptyDiff();
    for (const entry of this.#entries) diff.removals.add(entry.playerId);
    if (this.#entries.length > 0) this.#markChanged(diff, 0);
    this.#entries = [];
    this.#byPlayer.clear();
    this.sortOrderValue = sortOrder;
    this.topSizeValue = topSize;
    this.#complete = false;
    return diff;
  }
}
