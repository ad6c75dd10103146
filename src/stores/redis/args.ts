import { type DisplayFields, encodeDisplay, encodeMember } from "./member";

export type { DisplayFields } from "./member";

/** Sort scores are exact in a Redis double only up to 2^53: refuse anything that would round. */
export function scoreArg(sortScore: number): string {
  if (!Number.isSafeInteger(sortScore))
    throw new RangeError(`redis rank store: sortScore must be a safe integer, got ${sortScore}`);
  return String(sortScore);
}

/** Versions are compared as Lua numbers (doubles): safe integers only. */
function versionArg(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0)
    throw new RangeError(`redis rank store: version must be a safe integer >= 0, got ${version}`);
  return String(version);
}

/**
 * The ARGV record (playerId, version, sortScore, member, display) the apply/build scripts read;
 * validates before anything is sent.
 */
export function recordArgs(
  playerId: string,
  version: number,
  sortScore: number,
  reachedAt: number,
  display: DisplayFields = {},
): string[] {
  return [
    playerId,
    versionArg(version),
    scoreArg(sortScore),
    encodeMember(reachedAt, playerId),
    encodeDisplay(display),
  ];
}

/**
 * The expire-at argument of the write scripts: epoch ms, or "0" for a board-period that never
 * expires. A non-integer or non-positive time would make PEXPIREAT fail mid-script or delete.
 */
export function expiryArg(expiresAt: number | null | undefined): string {
  if (expiresAt === null || expiresAt === undefined) return "0";
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) {
    throw new RangeError(
      `redis rank store: expiresAt must be epoch ms > 0 or null, got ${expiresAt}`,
    );
  }
  return String(expiresAt);
}

/**
 * Records' ARGV (recordArgs each) in chunks of at most `maxRecords` records and about `maxBytes`
 * of arguments (a record alone may exceed it), for calls that keep one script's run and request
 * short.
 */
export function chunkRecords(
  records: readonly string[][],
  maxRecords: number,
  maxBytes: number,
): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let count = 0;
  let bytes = 0;
  for (const record of records) {
    const size = record.reduce((sum, part) => sum + part.length + 3, 0);
    if (count > 0 && (count === maxRecords || bytes + size > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      count = 0;
      bytes = 0;
    }
    chunk.push(...record);
    count += 1;
    bytes += size;
  }
  if (count > 0) chunks.push(chunk);
  return chunks;
}
