// The reference figures our benchmarks print next to their own: Nakama 3.15.0 measured side by
// side with this project on 2026-12-02 (issue 16), on the same machine shape (2 cores, one load
// generator for both: node:http keep-alive, 50 connections closed loop, 15 s per case, 4
// interleaved rounds, server CPU from /proc for every server process, the same Postgres, a
// 100,000-player board seeded identically on both, ranks 80,000-95,000 for the rank cases).
// They are that run's ranges, not measured by these benchmarks: a machine that is faster or
// slower today moves our figures and not these, so the ratio says more within one run's rounds
// than across days.
import { fmt } from "./stats.ts";

/** Low and high end of the reference run's rounds. */
export type Range = readonly [number, number];

export const NAKAMA_REFERENCE = "Nakama 3.15.0, measured 2026-12-02 on the same machine shape";

export const NAKAMA = {
  /** One score per request (Nakama writes it synchronously): server CPU per event, ms. */
  singleWriteCpuMs: [0.47, 0.54],
  /** One score per request: durable events per second (synchronous: accepted = durable). */
  singleWriteDurablePerS: [2_850, 3_340],
  /** Top-100 page: server CPU per read, ms. */
  topCpuMs: [1.5, 2.0],
  /** Rank of a player far down (ranks 80,000-95,000 of 100,000): CPU per read, ms. */
  rankCpuMs: [0.27, 0.4],
  rankP99Ms: [24, 59],
  /** Around-me, 11 rows: CPU per read, ms. */
  aroundCpuMs: [1.05, 1.31],
  aroundP99Ms: [74, 169],
} as const satisfies Record<string, Range>;

const range = (r: Range, digits: number) => `${fmt(r[0], digits)}-${fmt(r[1], digits)}`;

/**
 * "0.62 ms vs Nakama 0.27-0.40 ms: 1.55-2.30× (worse)": ours over each end of the reference range
 * (a ratio above 1 is worse for costs and latencies, better for throughputs; `better` says which).
 */
export function versusNakama(
  ours: number,
  reference: Range,
  unit: string,
  digits: number,
  better: "lower" | "higher",
): string {
  const below = ours < reference[0];
  const above = ours > reference[1];
  const verdict =
    !below && !above
      ? "within Nakama's range"
      : below === (better === "lower")
        ? "better"
        : "worse";
  return (
    `${fmt(ours, digits)}${unit} vs Nakama ${range(reference, digits)}${unit}: ` +
    `${fmt(ours / reference[1], 2)}-${fmt(ours / reference[0], 2)}× (${verdict})`
  );
}
