/** The keys of one board-period in the Redis rank store. */
export interface RankKeys {
  /** ZSET: score = sortScore, member = encodeMember(reachedAt, playerId). */
  readonly z: string;
  /** HASH: playerId → `${version}|${member}` (find a player's member, refuse stale updates). */
  readonly m: string;
  /**
   * STRING, set when the two keys were loaded whole from Postgres, holding their watermark: the
   * Postgres time (epoch ms) of the snapshot loaded, moved up by every projection since. Without
   * it the keys may hold only part of the board-period (Redis configured after the data existed,
   * keys flushed, evicted, or found trailing Postgres), so readers must not trust them.
   */
  readonly ready: string;
  /**
   * HASH: playerId → the record's display fields as JSON (`{"n": displayName, "m": metadata}`),
   * only for records that have any, so reads answer names without a Postgres query.
   */
  readonly d: string;
}

/**
 * The keys' format: part of the ready marker's name, so keys loaded by a release that stored
 * less (before display fields) are not trusted but reloaded. Bump it when what the keys hold
 * changes.
 */
const KEYS_FORMAT = 2;

/**
 * Keys share the `{board/period}` hash tag so every script touches one cluster slot. Braces in the
 * ids would move the tag (the API's id formats exclude them), so they are refused rather than
 * silently spreading a board over slots.
 */
export function rankKeys(prefix: string, boardId: string, periodKey: string): RankKeys {
  if (/[{}]/.test(boardId) || /[{}]/.test(periodKey) || /[{}]/.test(prefix)) {
    throw new RangeError("redis keys: prefix, board id and period key must not contain '{' or '}'");
  }
  const base = `${prefix}lb:{${boardId}/${periodKey}}`;
  return { z: `${base}:z`, m: `${base}:m`, ready: `${base}:ready:${KEYS_FORMAT}`, d: `${base}:d` };
}

/** Build keys for a rebuild: same hash tag, unique per rebuild so concurrent rebuilds never mix. */
export function rebuildKeys(keys: RankKeys, token: string): { z: string; m: string; d: string } {
  return { z: `${keys.z}:tmp:${token}`, m: `${keys.m}:tmp:${token}`, d: `${keys.d}:tmp:${token}` };
}
