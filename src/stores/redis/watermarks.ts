import { boardPeriodKey } from "../../domain";
import { BoundedMap } from "../../lib/bounded-map";

/**
 * The newest object watermark (LeaderboardDO.watermark: the Postgres time of the newest batch a
 * board-period's object applied) this isolate has seen, per board-period: from the objects'
 * replies to reads and from its own projections. Redis reads pass it on, so keys that trail it
 * (a Redis restored from an older copy, or that missed writes while it was away) answer "not
 * ready" and the read falls back. Plain numbers, bounded, oldest evicted first.
 */
const known = new BoundedMap<string, number>(5_000);

/**
 * How far Redis may trail the watermark a reader knows: the projection of a batch reaches Redis
 * just after its object, so a reader that saw the object first may meet Redis a batch behind.
 */
const READ_TOLERANCE_MS = 2_000;

export function noteWatermark(boardId: string, periodKey: string, writtenAt: number): void {
  if (!Number.isSafeInteger(writtenAt) || writtenAt <= 0) return;
  const key = boardPeriodKey(boardId, periodKey);
  const current = known.get(key);
  if (current === undefined || current < writtenAt) known.set(key, writtenAt);
}

/**
 * The batch times (Postgres ms) of this isolate's own Redis projections, per board-period, once
 * they landed, failed or were skipped (circuit open). Keys must hold at least that marker, with
 * no tolerance: this isolate knows exactly which write they took or missed, so a Redis restored
 * from a copy taken a moment before it, or still missing a skipped write, is refused at once.
 */
const projected = new BoundedMap<string, number>(5_000);

export function noteRedisProjection(boardId: string, periodKey: string, writtenAt: number): void {
  if (!Number.isSafeInteger(writtenAt) || writtenAt <= 0) return;
  const key = boardPeriodKey(boardId, periodKey);
  const current = projected.get(key);
  if (current === undefined || current < writtenAt) projected.set(key, writtenAt);
}

/** The oldest watermark a Redis answer for this board-period may carry (0: no constraint known). */
export function minimumRedisWatermark(boardId: string, periodKey: string): number {
  const key = boardPeriodKey(boardId, periodKey);
  const seen = known.get(key);
  return Math.max(seen === undefined ? 0 : seen - READ_TOLERANCE_MS, projected.get(key) ?? 0);
}
