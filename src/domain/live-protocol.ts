/**
 * The live feed's wire protocol and the pure parts of its relay tree (docs/design.md, "Live
 * feed"). Sockets sit on LiveRelay objects, never on the board's LeaderboardDO: the object pushes
 * each throttled window once per subscribed relay, and each relay turns it into per-socket
 * messages, deltas when it can.
 */
import type { RankedEntryView } from "./leaderboard";

/** Rows in a live window when the client does not ask (`?limit=`). */
export const DEFAULT_LIVE_LIMIT = 10;
/** Largest live window: the object pushes this many rows, so it bounds every message. */
export const MAX_LIVE_LIMIT = 100;
/** A client told to reconnect waits a random delay in [min, max] ms (no reconnect storm). */
export const RECONNECT_MIN_MS = 1_000;
export const RECONNECT_MAX_MS = 10_000;
/** Close codes: the period ended (1001 going away), the relay is draining or restarting (1012). */
export const CLOSE_ARCHIVED = 1001;
export const CLOSE_RESTART = 1012;

/**
 * The window a board's object pushes to its relays (and a relay to its children): the top
 * MAX_LIVE_LIMIT rows as of `seq`. `seq` is issued by the object, strictly increasing (also
 * across restarts: it is at least the wall clock in ms), and names one state of the top.
 */
export interface LiveWindow {
  seq: number;
  entries: RankedEntryView[];
  total: number;
  complete: boolean;
}

/** Server → client. `snapshot` and `update` carry the whole window; `delta` the changed rows. */
export type LiveMessage =
  | {
      type: "snapshot" | "update";
      seq: number;
      entries: RankedEntryView[];
      total: number;
      complete: boolean;
    }
  | {
      type: "delta";
      seq: number;
      /** The seq of the window this applies to: the client's last seq must equal it. */
      baseSeq: number;
      /** Rows in the window now; rows at positions >= size are gone. */
      size: number;
      /** Every row whose position (rank - 1) holds a different entry than at baseSeq. */
      rows: RankedEntryView[];
      total: number;
      complete: boolean;
    }
  | { type: "bye"; reason: "archived" | "restart"; reconnectAfterMs: number };

/** `?limit=` of a live request: DEFAULT_LIVE_LIMIT when absent, null when invalid. */
export function parseLiveLimit(raw: string | null): number | null {
  if (raw === null || raw === "") return DEFAULT_LIVE_LIMIT;
  if (!/^\d{1,3}$/.test(raw)) return null;
  const limit = Number(raw);
  return limit >= 1 && limit <= MAX_LIVE_LIMIT ? limit : null;
}

function sameRow(a: RankedEntryView, b: RankedEntryView): boolean {
  return (
    a.rank === b.rank &&
    a.playerId === b.playerId &&
    a.score === b.score &&
    a.reachedAt === b.reachedAt &&
    a.displayName === b.displayName &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}

/** The rows of `next` that differ from `previous` position by position (both are windows). */
export function changedRows(
  previous: readonly RankedEntryView[],
  next: readonly RankedEntryView[],
): RankedEntryView[] {
  const rows: RankedEntryView[] = [];
  for (let i = 0; i < next.length; i += 1) {
    const row = next[i] as RankedEntryView;
    const old = previous[i];
    if (old === undefined || !sameRow(old, row)) rows.push(row);
  }
  return rows;
}

/** What a client does with a delta: the window at `baseSeq` becomes the window at `seq`. */
export function applyDelta(
  window: readonly RankedEntryView[],
  delta: { size: number; rows: readonly RankedEntryView[] },
): RankedEntryView[] {
  const next = window.slice(0, delta.size);
  for (const row of delta.rows) next[row.rank - 1] = row;
  return next;
}

/** A uniformly random reconnect delay in [RECONNECT_MIN_MS, RECONNECT_MAX_MS]. */
export function reconnectDelayMs(random: () => number = Math.random): number {
  const span = RECONNECT_MAX_MS - RECONNECT_MIN_MS + 1;
  return RECONNECT_MIN_MS + Math.min(span - 1, Math.floor(random() * span));
}

/** The close reason that goes with a `bye` (a close reason holds at most 123 bytes). */
export function byeCloseReason(reconnectAfterMs: number): string {
  return JSON.stringify({ reconnectAfterMs });
}

// -------------------------------------------------------------------------------------------
// The relay tree of one board-period
// -------------------------------------------------------------------------------------------

/** Relays of the first tier; each next tier is twice the size of the one before. */
const FIRST_TIER_RELAYS = 2;
/** Tiers a connection may try: 2 + 4 + ... + 2^12 = 8,190 relays. */
export const MAX_TIERS = 12;

/**
 * Relay indexes of tier `t`: [2^(t+1) - 2, 2^(t+2) - 2). A connection tries a random relay of
 * tier 0, and of the next tier whenever the one it tried is full, so the number of relays grows
 * with the sockets: a board-period with S sockets on relays of capacity C uses about
 * 2^ceil(log2(S / C)) relays, at most twice what it needs, and a quiet board only the first two.
 */
export function tierRange(tier: number): { start: number; end: number } {
  const start = FIRST_TIER_RELAYS * (2 ** tier - 1);
  return { start, end: start + FIRST_TIER_RELAYS * 2 ** tier };
}

/**
 * The parent of relay `index` in a tree where every node feeds at most `fanout` children:
 * relays 0..fanout-1 subscribe to the board's object (null here), relay i >= fanout to relay
 * floor(i / fanout) - 1. The object thus pushes at most `fanout` times per update.
 */
export function relayParent(index: number, fanout: number): number | null {
  return index < fanout ? null : Math.floor(index / fanout) - 1;
}

/** The one spelling of a relay's object name (board ids and period keys never contain "/"). */
export function relayObjectName(boardId: string, periodKey: string, index: number): string {
  return `${boardId}/${periodKey}/relay-${index}`;
}
