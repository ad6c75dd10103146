/**
 * Durations (ms) counted into fixed buckets about 25% wide, so a per-minute aggregate stays a
 * few hundred bytes however many requests it counts, and quantiles are read back to within one
 * bucket. The Workers clock advances only across I/O, so most durations are whole milliseconds
 * (and CPU-only work reads as 0): the low buckets are one millisecond each.
 */
const UPPER_BOUNDS = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  8,
  10,
  12,
  15,
  20,
  25,
  30,
  40,
  50,
  65,
  80,
  100,
  125,
  150,
  200,
  250,
  300,
  400,
  500,
  650,
  800,
  1_000,
  1_250,
  1_500,
  2_000,
  2_500,
  3_000,
  4_000,
  5_000,
  6_500,
  8_000,
  10_000,
  15_000,
  20_000,
  30_000,
  60_000,
  Number.POSITIVE_INFINITY,
];

export function newHistogram(): Uint32Array {
  return new Uint32Array(UPPER_BOUNDS.length);
}

/** Counts one duration: a binary search over the bounds (six comparisons). */
export function countDuration(histogram: Uint32Array, ms: number): void {
  let low = 0;
  let high = UPPER_BOUNDS.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (ms <= (UPPER_BOUNDS[middle] as number)) high = middle;
    else low = middle + 1;
  }
  histogram[low] = (histogram[low] as number) + 1;
}

export function addHistogram(into: Uint32Array, from: Uint32Array): void {
  for (let i = 0; i < into.length; i++) into[i] = (into[i] as number) + (from[i] as number);
}

/**
 * The upper bound of the bucket holding quantile `q` (0..1): the duration that q of the counted
 * ones did not exceed, rounded up to a bucket; null when nothing was counted. The open last
 * bucket reads as its lower bound (60 s).
 */
export function quantileOf(histogram: Uint32Array, q: number): number | null {
  let total = 0;
  for (const n of histogram) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] as number;
    if (seen >= rank) return Math.min(UPPER_BOUNDS[i] as number, 60_000);
  }
  return 60_000;
}
