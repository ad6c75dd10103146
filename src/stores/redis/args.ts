import { encodeMember } from "./member";

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
 * The ARGV quadruple the apply/build scripts read per record; validates before anything is sent.
 */
export function recordArgs(
  playerId: string,
  version: number,
  sortScore: number,
  reachedAt: number,
): string[] {
  return [playerId, versionArg(version), scoreArg(sortScore), encodeMember(reachedAt, playerId)];
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
