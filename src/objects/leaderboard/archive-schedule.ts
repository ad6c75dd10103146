/**
 * When a board-period's object drops its storage. A past period's top-N is only a hot copy of
 * Postgres: once nobody writes to it and few read it, keeping it costs storage for ever. The
 * callers say when (BoardPeriod.archiveAt); these rules keep an object that a reader just
 * rebuilt (last season's winners, read again) from being archived and rebuilt on every read.
 */

/** An object rebuilt at or after its archive time stays this long before it archives again. */
export const REBUILT_KEEP_MS = 86_400_000;

/**
 * The archive time to store: what the caller asks for, but never sooner than REBUILT_KEEP_MS
 * after the last rebuild. `requested` undefined (a caller that does not say) keeps `stored`.
 */
export function effectiveArchiveAt(
  requested: number | null | undefined,
  stored: number | null,
  lastRebuildAt: number | null,
): number | null {
  if (requested === undefined) return stored;
  if (requested === null) return null;
  return lastRebuildAt === null ? requested : Math.max(requested, lastRebuildAt + REBUILT_KEEP_MS);
}

/** True once an archive time has come. */
export function isArchiveDue(archiveAt: number | null | undefined, now: number): boolean {
  return archiveAt !== null && archiveAt !== undefined && now >= archiveAt;
}
