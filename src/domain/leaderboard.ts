/**
 * The RPC contract of LeaderboardDO: what the queue consumer writes and what the read routes get
 * back. Kept apart from the class so callers import types without pulling in the object.
 */
import type { SortOrder } from "./index.ts";

/** Top-N of a board that does not say (the boards table default). */
export const DEFAULT_TOP_SIZE = 1000;

/** Largest top-N a board may keep (the boards table enforces the same bound). */
export const MAX_TOP_SIZE = 10_000;

/** Largest page the object serves in one call. */
export const MAX_PAGE_LIMIT = 1000;

/** Largest `n` accepted by `around` (n above and n below). */
export const MAX_AROUND = 500;

/**
 * Free-form per-entry data (the scores.metadata jsonb column): a JSON object. Typed shallowly on
 * purpose: `unknown` values make the RPC stub types collapse to `never`, and a recursive JSON
 * type is too deep for them; `object` covers nested objects and arrays.
 */
export type Metadata = { [key: string]: string | number | boolean | null | object };

/** Identifies the board-period an object serves and how it ranks; stored so alarms can rebuild. */
export interface BoardPeriod {
  boardId: string;
  periodKey: string;
  sortOrder: SortOrder;
  /** Entries held, 1..MAX_TOP_SIZE. */
  topSize: number;
  /**
   * When the object may drop its storage (epoch ms; pastPeriodExpiryMs with
   * OBJECT_PAST_PERIOD_DAYS): a past period's top-N then lives on in Postgres alone, and a later
   * read rebuilds the object from there. Null or absent: never (the all-time period).
   */
  archiveAt?: number | null;
}

/**
 * A record's FINAL state after a Postgres commit (absolute values, not a delta). `version` follows
 * commit order, so the object applies a state only when it is newer than the one it holds.
 * `displayName`/`metadata`: undefined keeps what is held, null clears it.
 */
export interface EntryState {
  playerId: string;
  score: number;
  /** epoch ms */
  reachedAt: number;
  version: number;
  displayName?: string | null;
  metadata?: Metadata | null;
}

/** One ranked row as the read routes serve it. */
export interface RankedEntryView {
  /** 1-based; exact for every held entry, also while the set is incomplete. */
  rank: number;
  playerId: string;
  score: number;
  reachedAt: number;
  displayName: string | null;
  metadata: Metadata | null;
}

/**
 * A board-period's exact record count as Postgres had it at `at` (statement time, epoch µs, one
 * clock for every consumer): the object keeps the newest it was given, so projections that arrive
 * out of order cannot put an older count back.
 */
export interface CountedTotal {
  count: number;
  at: number;
}

/** Result of `applyChanges`. */
export interface ApplyResult {
  /** Changes newer than what the object knew (the rest were repeats or stale). */
  applied: number;
  /** The held top-N changed (membership, order, scores or names). */
  topChanged: boolean;
  total: number;
  /**
   * The newest batch the object had applied before this call (Postgres time, epoch ms; 0: none):
   * what a projection of the same batch into Redis expects Redis to hold already.
   */
  previousWrittenAt: number;
}

/** Keyset position: the last row of the previous page. */
export interface PageCursorKey {
  score: number;
  reachedAt: number;
  playerId: string;
}

/** What `page` serves: keyset (cursor) and/or offset, bounded by limit. */
export interface PageOptions {
  /** 1..MAX_PAGE_LIMIT */
  limit: number;
  /** Rows strictly after this position in board order. */
  cursor?: PageCursorKey;
  /** Rows to skip (after the cursor, if both are given). */
  offset?: number;
}

/** A page of the held top-N; `hasMore` tells the caller to continue from Redis/Postgres. */
export interface PageResult {
  entries: RankedEntryView[];
  /**
   * Players on the board-period: Postgres' count after the last batch or rebuild (never below
   * heldCount).
   */
  total: number;
  /**
   * False while the object knows it holds fewer than the true top-N (a top player's score got
   * worse and a rebuild from Postgres is pending). Ranks of held entries are still exact.
   */
  complete: boolean;
  /** More held rows follow, or the board has players beyond the held ones. */
  hasMore: boolean;
  heldCount: number;
  /**
   * False until the object has been told its board (by a first applyChanges or a rebuild): an
   * object that never saw its board-period may face rows already in Postgres, so readers rebuild
   * it.
   */
  initialized: boolean;
  /** The object's watermark (see LeaderboardDO.watermark): readers hold Redis to it. */
  writtenAt: number;
}

/** One entry as the API serves it (JSON): absent display name and metadata are left out. */
export interface ApiEntry {
  rank: number;
  playerId: string;
  displayName?: string | undefined;
  score: number;
  /** ISO 8601 */
  reachedAt: string;
  metadata?: Record<string, unknown> | undefined;
}

/**
 * `pageJson`: the same page as `page`, its entries already serialized as the API serves them, so
 * a read that the object answers alone neither clones nor re-encodes 100 objects.
 */
export interface PageJsonResult {
  /** JSON array of ApiEntry. */
  entriesJson: string;
  count: number;
  /** The last entry's position, for the next cursor; null on an empty page. */
  last: (PageCursorKey & { rank: number }) | null;
  total: number;
  hasMore: boolean;
  initialized: boolean;
  /** The object's watermark (see LeaderboardDO.watermark). */
  writtenAt: number;
}

/** A held player's row and the board total (for percentiles). */
export interface RankResult {
  entry: RankedEntryView;
  total: number;
}

/** The window around a held player. */
export interface AroundResult {
  entries: RankedEntryView[];
  total: number;
}

/** Where a hypothetical score would rank now; nothing is written. */
export interface ScoreRankResult {
  /** Rank the score would get now (after existing equal scores); a lower bound if !withinTop. */
  rank: number;
  /** False when the rank lies beyond what the object can vouch for: ask Redis/Postgres. */
  withinTop: boolean;
  total: number;
}

/** What a rebuild loaded from Postgres. */
export interface RebuildResult {
  loaded: number;
  total: number;
}

/** Diagnostics for reconciliation and tests. */
export interface LeaderboardStats {
  board: BoardPeriod | null;
  held: number;
  total: number;
  complete: boolean;
  /** Sum of held versions: compare with `sum(version)` over the same top-N in Postgres. */
  versionSum: number;
  maxVersion: number;
  /** Players not held whose latest seen version is remembered (guards against stale replays). */
  rememberedVersions: number;
  /** WebSockets on this object: always 0, live sockets sit on LiveRelay objects. */
  sockets: number;
  /** Relays subscribed to this object's live windows (its direct children in the relay tree). */
  relays: number;
  /** Live windows pushed to relays since this instance started: one RPC per relay per update. */
  relayPushes: number;
  /** epoch ms of the last completed rebuild, or null. */
  lastRebuildAt: number | null;
  /** The newest batch applied (Postgres time, epoch ms; 0: none). */
  writtenAt: number;
  /** Read calls (pages, ranks, windows) since this instance started: tests count them. */
  reads: number;
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
