/**
 * Codecs for the Redis rank store's sorted-set members and hash values. Redis orders members of
 * equal score by their bytes, so a member that starts with a fixed-width reachedAt followed by the
 * player id sorts exactly like the ranking tie-break (earlier reach first, then player id in byte
 * order, which is code-unit order for the ASCII ids the API accepts).
 */

/** reachedAt is written as exactly this many decimal digits (epoch ms up to year 2286). */
const REACHED_AT_DIGITS = 13;
const MAX_REACHED_AT = 10 ** REACHED_AT_DIGITS - 1;
/** Where the player id starts in a member (1-based, as Lua's string.sub counts). */
export const MEMBER_PLAYER_FROM = REACHED_AT_DIGITS + 2;

/** The decoded form of a sorted-set member. */
export interface RedisMember {
  readonly reachedAt: number;
  readonly playerId: string;
}

/**
 * `${reachedAt, 13 digits zero-padded}:${playerId}`. Throws RangeError for a reachedAt outside
 * [0, 10^13) or an empty player id, since either would break the byte order.
 */
export function encodeMember(reachedAt: number, playerId: string): string {
  if (!Number.isSafeInteger(reachedAt) || reachedAt < 0 || reachedAt > MAX_REACHED_AT) {
    throw new RangeError(
      `redis member: reachedAt must be an integer in [0, ${MAX_REACHED_AT}], got ${reachedAt}`,
    );
  }
  if (typeof playerId !== "string" || playerId.length === 0)
    throw new RangeError("redis member: playerId must be a non-empty string");
  return `${String(reachedAt).padStart(REACHED_AT_DIGITS, "0")}:${playerId}`;
}

/**
 * Inverse of encodeMember; null for anything it did not produce (the player id may contain ':').
 */
export function decodeMember(member: string): RedisMember | null {
  if (
    typeof member !== "string" ||
    member.length < REACHED_AT_DIGITS + 2 ||
    member[REACHED_AT_DIGITS] !== ":"
  )
    return null;
  const digits = member.slice(0, REACHED_AT_DIGITS);
  if (!/^\d+$/.test(digits)) return null;
  return { reachedAt: Number(digits), playerId: member.slice(REACHED_AT_DIGITS + 1) };
}

/**
 * The hash value per player: `${version}|${member}`, so one HGET yields both the guard and the
 * member.
 */
export function encodeMemberRecord(version: number, member: string): string {
  return `${version}|${member}`;
}

/**
 * Inverse of encodeMemberRecord; null when malformed (split at the first '|': ids may contain '|').
 */
export function decodeMemberRecord(value: string): { version: number; member: string } | null {
  if (typeof value !== "string") return null;
  const sep = value.indexOf("|");
  if (sep <= 0) return null;
  const version = Number(value.slice(0, sep));
  if (!Number.isSafeInteger(version)) return null;
  const member = value.slice(sep + 1);
  return decodeMember(member) ? { version, member } : null;
}

/** A record's display fields, as the rank store keeps them next to its rank. */
export interface DisplayFields {
  displayName?: string | null | undefined;
  metadata?: Record<string, unknown> | null | undefined;
}

/**
 * The display HASH's value: JSON with one-letter keys (a million records hold a million of them),
 * '' for a record with neither field.
 */
export function encodeDisplay(fields: DisplayFields): string {
  const n = fields.displayName || undefined;
  const m = fields.metadata ?? undefined;
  return n === undefined && m === undefined ? "" : JSON.stringify({ n, m });
}
