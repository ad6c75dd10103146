/**
 * A sliding window approximated from two fixed ones, as @upstash/ratelimit's slidingWindow does:
 * the previous window's count weighted by the share of it still inside the sliding window, plus
 * the current window's count.
 */
export interface WindowCounts {
  /** The fixed window these counts belong to: floor(epoch ms / windowMs). */
  window: number;
  previous: number;
  current: number;
}

/** How many units the sliding window ending at `now` holds, given counts read at some window. */
export function slidingCount(counts: WindowCounts, now: number, windowMs: number): number {
  const window = Math.floor(now / windowMs);
  const elapsed = (now % windowMs) / windowMs;
  if (counts.window === window) return counts.previous * (1 - elapsed) + counts.current;
  if (counts.window === window - 1) return counts.current * (1 - elapsed);
  return 0;
}

/** Milliseconds until the fixed window holding `now` ends (when a spent budget is sure to free). */
export function untilWindowEnds(now: number, windowMs: number): number {
  return windowMs - (now % windowMs);
}
