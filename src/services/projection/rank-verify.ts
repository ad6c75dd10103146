import type { Redis } from "@upstash/redis/cloudflare";
import { describeError, log } from "../../lib/log";
import { count } from "../../lib/metrics";
import type { Database } from "../../stores/postgres/client";
import { SAMPLE_MAX_PLAYERS } from "../../stores/redis/sample";
import {
  type CheckCandidate,
  checkBoardPeriod,
  type Mismatch,
  pickChecks,
  randomPivot,
  requestReloads,
} from "./rank-check";

/** Ready board-periods compared with Postgres per run. */
const CHECKS_PER_RUN = 8;
/** Of which the most recently written (the busiest, most read). The rest rotate over all. */
const CHECKS_HOT = 4;
/** Records compared per board-period (one Redis script call, one Postgres read of 2× as many). */
const CHECK_SAMPLE = 32;
/**
 * Records counted per run over all its checks (Postgres index-only counts): a board-period larger
 * than what is left is not counted this run, only sampled.
 */
const CHECK_COUNT_ROWS = 500_000;
/** Board-periods listed in the result (and the log line). */
const LISTED = 20;

export interface VerifyOptions {
  perRun?: number;
  hot?: number;
  sample?: number;
  countRows?: number;
  /** Boards checked first (tests, an operator's suspicion). */
  first?: readonly string[];
  /** Where sample windows start (default: random per board-period). */
  pivot?: string;
}

export interface VerifyResult {
  /** Board-periods compared with Postgres this run. */
  verifiedCount: number;
  /** ... found disagreeing, their reload requested (rank_resync, since null). */
  mismatchCount: number;
  /** ... whose check failed (Redis or Postgres down): nothing concluded. */
  checkFailedCount: number;
  /** Records compared one by one over the run, and sampled ones left out as in flight. */
  compared: number;
  inFlight: number;
  mismatches: Array<{ boardId: string; periodKey: string; first: Mismatch; found: number }>;
}

/**
 * Finds board-periods whose Redis keys disagree with Postgres behind a ready marker (a member lost,
 * a wrong score, a count that differs: partial loss the marker and the ZCARD = HLEN guard cannot
 * see) and requests their reload; the next run does it like any resync. Bounded per run:
 * `perRun` board-periods (the `hot` most recently written, the rest rotating by the run's minute),
 * each one Upstash script call and two Postgres reads (a count while `countRows` lasts, and a
 * window of `sample` records), no check started after `deadline`.
 */
export async function verifyRanks(
  db: Database,
  redis: Redis,
  prefix: string,
  candidates: readonly CheckCandidate[],
  now: Date,
  deadline: number,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const result: VerifyResult = {
    verifiedCount: 0,
    mismatchCount: 0,
    checkFailedCount: 0,
    compared: 0,
    inFlight: 0,
    mismatches: [],
  };
  const picked = pickChecks(candidates, {
    perRun: options.perRun ?? CHECKS_PER_RUN,
    hot: options.hot ?? CHECKS_HOT,
    slot: Math.floor(now.getTime() / 60_000),
    first: new Set(options.first ?? []),
  });
  let countRows = options.countRows ?? CHECK_COUNT_ROWS;
  const found: CheckCandidate[] = [];
  for (const seen of picked) {
    if (Date.now() >= deadline) break;
    const counted = seen.players <= countRows;
    if (counted) countRows -= seen.players;
    try {
      const outcome = await checkBoardPeriod(db, redis, prefix, seen, {
        sample: Math.min(options.sample ?? CHECK_SAMPLE, SAMPLE_MAX_PLAYERS),
        count: counted,
        pivot: options.pivot ?? randomPivot(),
      });
      result.verifiedCount += 1;
      result.compared += outcome.compared;
      result.inFlight += outcome.inFlight;
      const [first] = outcome.mismatches;
      if (outcome.status !== "mismatch" || !first) continue;
      found.push(seen);
      if (result.mismatches.length < LISTED)
        result.mismatches.push({
          boardId: seen.boardId,
          periodKey: seen.periodKey,
          first,
          found: outcome.mismatches.length,
        });
    } catch (error) {
      result.checkFailedCount += 1;
      log.warn("cron: comparing Redis with Postgres failed; it is checked again later", {
        boardId: seen.boardId,
        periodKey: seen.periodKey,
        error: describeError(error),
      });
    }
  }
  if (found.length > 0) {
    result.mismatchCount = found.length;
    count("redisMismatches", found.length);
    const requested = await requestReloads(db, found);
    log.warn("cron: Redis disagrees with Postgres behind its ready marker; reloading", {
      requested,
      mismatches: result.mismatches,
    });
  }
  return result;
}
