import { decodeMember } from "./member";

/** One ranked row as the Redis rank store returns it. */
export interface RedisRankEntry {
  /** 1-based. */
  rank: number;
  playerId: string;
  sortScore: number;
  reachedAt: number;
  displayName?: string;
  metadata?: Record<string, unknown>;
}

/**
 * An integer from a Redis reply. Through the REST API a number may arrive as a JSON number, as a
 * string ("-42", or "1e+15" from Redis 7's shortest double format), or already parsed by the
 * SDK's automatic deserialisation; all become the same safe integer, anything else throws.
 */
export function replyInt(value: unknown, what: string): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && value.trim() !== ""
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new Error(`redis rank store: ${what} is not a safe integer: ${JSON.stringify(value)}`);
  return n;
}

/** A reply array, or a clear error (instead of a TypeError deep in a caller). */
export function replyArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value))
    throw new Error(`redis rank store: ${what} reply is not an array: ${JSON.stringify(value)}`);
  return value;
}

/**
 * A member string. Members always start with 13 digits and a ':', which is never valid JSON, so
 * the SDK's automatic deserialisation leaves them as strings; anything else is a corrupt entry.
 */
export function replyMember(value: unknown): { reachedAt: number; playerId: string } {
  const decoded = typeof value === "string" ? decodeMember(value) : null;
  if (!decoded) throw new Error(`redis rank store: malformed member ${JSON.stringify(value)}`);
  return decoded;
}

/**
 * A record's display fields from the display HASH's JSON ('' or nil: none). Malformed JSON is left
 * out rather than failing the read: a name is decoration, the rank is the answer.
 */
export function replyDisplay(value: unknown): Pick<RedisRankEntry, "displayName" | "metadata"> {
  if (typeof value !== "string" || value === "") return {};
  try {
    const { n, m } = JSON.parse(value) as { n?: unknown; m?: unknown };
    return {
      ...(typeof n === "string" && n !== "" ? { displayName: n } : {}),
      ...(m && typeof m === "object" && !Array.isArray(m)
        ? { metadata: m as Record<string, unknown> }
        : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Decodes flat `member, score, display, member, score, display…` (from index `from`) into entries
 * ranked from `firstRank`.
 */
export function replyEntries(
  flat: readonly unknown[],
  from: number,
  firstRank: number,
): RedisRankEntry[] {
  const entries: RedisRankEntry[] = [];
  for (let i = from; i + 2 < flat.length; i += 3) {
    const { reachedAt, playerId } = replyMember(flat[i]);
    entries.push({
      rank: firstRank + entries.length,
      playerId,
      sortScore: replyInt(flat[i + 1], "score"),
      reachedAt,
      ...replyDisplay(flat[i + 2]),
    });
  }
  return entries;
}
