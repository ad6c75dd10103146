/**
 * Ranking order, rank/percentile definitions and keyset-pagination cursors.
 * The comparator is the single definition of "who is ahead"; SQL ORDER BY
 * clauses and Redis sorted-set encodings must agree with it.
 */
// With its extension: benchmarks import this file from Node, which resolves nothing else.
import type { SortOrder } from "./operators.ts";

/** One row of a leaderboard, as ranked. `reachedAt` is epoch ms. */
export interface RankedEntry {
  readonly playerId: string;
  readonly score: number;
  readonly reachedAt: number;
}

/**
 * Total order over entries, better first: score by the board's sort order,
 * then earlier reachedAt (first to reach ranks higher), then playerId
 * ascending by UTF-16 code unit so the order is deterministic and
 * locale-independent. For ASCII ids this matches Postgres `COLLATE "C"`;
 * never use localeCompare here, it would disagree with the database.
 */
export function compareEntries(sortOrder: SortOrder): (a: RankedEntry, b: RankedEntry) => number {
  const sign = sortOrder === "desc" ? -1 : 1;
  return (a, b) => {
    if (a.score !== b.score) return a.score < b.score ? -sign : sign;
    if (a.reachedAt !== b.reachedAt) return a.reachedAt < b.reachedAt ? -1 : 1;
    if (a.playerId !== b.playerId) return a.playerId < b.playerId ? -1 : 1;
    return 0;
  };
}

/**
 * 1-based rank of `playerId` among `entries`, or null if absent: one plus the
 * number of entries strictly ahead. O(n) brute force, meant as the reference
 * the indexed SQL/Redis rank queries are tested against.
 */
export function rankOf(
  entries: readonly RankedEntry[],
  playerId: string,
  sortOrder: SortOrder,
): number | null {
  const self = entries.find((e) => e.playerId === playerId);
  if (self === undefined) return null;
  const compare = compareEntries(sortOrder);
  let ahead = 0;
  for (const entry of entries) {
    if (entry.playerId !== playerId && compare(entry, self) < 0) ahead += 1;
  }
  return ahead + 1;
}

/**
 * Percentile of a rank: the share of ranked players this player is ahead of
 * or equal to (counting themself), in percent:
 *
 *   percentile = (total - rank + 1) / total * 100
 *
 * so rank 1 of 100 → 100, rank 100 of 100 → 1, and a lone player → 100. Not
 * rounded; presentation is left to the API. Throws RangeError unless
 * 1 ≤ rank ≤ total and both are integers.
 */
export function percentile(rank: number, total: number): number {
  if (!Number.isSafeInteger(rank) || !Number.isSafeInteger(total) || rank < 1 || rank > total) {
    throw new RangeError("ranking: percentile needs integers with 1 <= rank <= total");
  }
  return ((total - rank + 1) / total) * 100;
}

/**
 * Position after the last row of a page, for keyset pagination over
 * (score, reachedAt, playerId), bound to one period key so a cursor from one
 * period cannot be replayed against another. Callers must reject a cursor
 * whose `period` differs from the requested period key.
 */
export interface PageCursor {
  readonly period: string;
  readonly score: number;
  readonly reachedAt: number;
  readonly playerId: string;
}

const CURSOR_VERSION = 1;
const CURSOR_MAX_LENGTH = 1024;
const CURSOR_MAX_PERIOD = 32;
/**
 * A position every store can seek to: reachedAt as the Redis member encodes it (13 digits of
 * epoch ms) and a player id the API could have written. A cursor is not signed, so these bounds
 * are what keep an edited one from reaching a store with a value it cannot hold.
 */
const CURSOR_MAX_REACHED_AT = 9_999_999_999_999;
const CURSOR_PLAYER_ID = /^[A-Za-z0-9_.:@|-]{1,128}$/;

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

/**
 * Opaque cursor string: base64url (no padding) of a versioned JSON array.
 * Opaque means "clients must not build or edit it", not secret or signed:
 * a forged cursor only moves where a page starts, which any client could do
 * by paging anyway.
 */
export function encodeCursor(cursor: PageCursor): string {
  const json = JSON.stringify([
    CURSOR_VERSION,
    cursor.period,
    cursor.score,
    cursor.reachedAt,
    cursor.playerId,
  ]);
  return toBase64Url(new TextEncoder().encode(json));
}

/**
 * Inverse of encodeCursor. Returns null for anything it did not produce:
 * bad base64, invalid UTF-8, bad JSON, wrong shape or version, non-integer
 * numbers, empty or oversized ids, or a non-canonical encoding of a valid
 * value (so each position has exactly one cursor string).
 */
export function decodeCursor(raw: string): PageCursor | null {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > CURSOR_MAX_LENGTH) return null;
  const bytes = fromBase64Url(raw);
  if (bytes === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 5) return null;
  const [version, period, score, reachedAt, playerId] = value as unknown[];
  if (version !== CURSOR_VERSION) return null;
  if (typeof period !== "string" || period.length === 0 || period.length > CURSOR_MAX_PERIOD)
    return null;
  if (typeof score !== "number" || !Number.isSafeInteger(score)) return null;
  if (
    typeof reachedAt !== "number" ||
    !Number.isSafeInteger(reachedAt) ||
    reachedAt < 0 ||
    reachedAt > CURSOR_MAX_REACHED_AT
  )
    return null;
  if (typeof playerId !== "string" || !CURSOR_PLAYER_ID.test(playerId)) return null;
  const cursor: PageCursor = { period, score, reachedAt, playerId };
  return encodeCursor(cursor) === raw ? cursor : null;
}

/**
 * True when `entry` sorts strictly after the cursor position, i.e. belongs on
 * a later page. Reference for the SQL keyset predicate; with a total order it
 * never repeats or skips a row between pages.
 */
export function isAfterCursor(
  sortOrder: SortOrder,
  entry: RankedEntry,
  cursor: PageCursor,
): boolean {
  return compareEntries(sortOrder)(entry, cursor) > 0;
}
