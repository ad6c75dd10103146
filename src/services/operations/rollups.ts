import {
  IDEMPOTENCY_WINDOW_DAYS,
  ROLLUP_STEP_ROWS,
  type RollupBounds,
  SETTLE_MS,
} from "../../domain";
import type { Database } from "../../stores/postgres/client";
import {
  advanceProgress,
  foldStamped,
  lockProgress,
  pruneRollupPlayers,
  recordRollupRun,
  stepEnd,
} from "../../stores/postgres/rollups";

const DAY_MS = 86_400_000;
/** The first step's span, and the bounds a step's span is kept within. */
const FIRST_STEP_MS = 60_000;
const MAX_STEP_MS = 7 * DAY_MS;

export interface RollupResult {
  /** Events folded into the rollups by this run. */
  folded: number;
  /** Steps (transactions) the run took, and ones that found nothing to fold. */
  steps: number;
  /** Every event stored before this is counted (ISO). */
  rolledUpTo: string;
  /** The run reached its cutoff (now minus SETTLE_MS); false: it stopped at a bound. */
  caughtUp: boolean;
  /** Rows of rollup_players dropped because their bucket can no longer change. */
  playersPruned: number;
}

/**
 * Where the first run starts: the start of the UTC month three months back. The daily upkeep
 * keeps the current month's partition and the two before it (EVENT_RETENTION_MONTHS), so every
 * event still stored is stamped after this.
 */
function firstPosition(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1));
}

/**
 * One run of the hourly rollup job: folds the events stored since the last run into the hourly
 * and daily rollups, in steps of at most ROLLUP_STEP_ROWS events, until it reaches `now` minus
 * SETTLE_MS (the current hour's partial figures included) or a bound: `bounds.maxRows` events, or
 * `bounds.maxSeconds` (no step starts after it). A backlog is worked off over successive runs.
 * A step is one transaction that locks the progress row, folds a range of stamps and moves the
 * progress past it, so re-running changes nothing and overlapping runs take turns, each step
 * folded once. Late events are stored late, so their stamp puts them in a later step, which adds
 * them to the hour and day they occurred in.
 */
export async function runRollups(
  db: Database,
  options: { now: Date; bounds: RollupBounds; clock?: () => number },
): Promise<RollupResult> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const cutoff = new Date(options.now.getTime() - SETTLE_MS);
  let folded = 0;
  let steps = 0;
  let rolledUpTo = firstPosition(options.now);
  let caughtUp = false;
  while (folded < options.bounds.maxRows && clock() - started < options.bounds.maxSeconds * 1000) {
    const limit = Math.min(ROLLUP_STEP_ROWS, options.bounds.maxRows - folded);
    const step = await db.transaction((tx) =>
      foldStep(tx, {
        cutoff,
        limit,
        nothingFoldedYet: folded === 0,
        start: firstPosition(options.now),
      }),
    );
    steps += 1;
    rolledUpTo = step.rolledUpTo;
    folded += step.folded;
    if (step.rolledUpTo.getTime() >= cutoff.getTime()) {
      caughtUp = true;
      break;
    }
    // A step that folded the run's remaining rows ends the run: the next one goes on from there.
    if (step.stopped || (step.cut && step.folded > 0 && limit < ROLLUP_STEP_ROWS)) break;
  }
  await recordRollupRun(db, options.now, caughtUp);
  const playersPruned = await pruneClosedBuckets(db, rolledUpTo, started, options, clock);
  return { folded, steps, rolledUpTo: rolledUpTo.toISOString(), caughtUp, playersPruned };
}

/**
 * One step: the next range of stamps, cut where it would pass `limit` events, folded, and the
 * progress moved past it. When a single millisecond holds more than `limit`, it is folded whole if
 * nothing has been folded yet in this run, so a run always moves; otherwise the run stops there.
 */
async function foldStep(
  tx: Database,
  step: { cutoff: Date; limit: number; nothingFoldedYet: boolean; start: Date },
): Promise<{ folded: number; rolledUpTo: Date; stopped: boolean; cut: boolean }> {
  const progress = await lockProgress(tx, step.start, FIRST_STEP_MS);
  const from = progress.rolledUpTo;
  const stop = { folded: 0, rolledUpTo: from, stopped: true, cut: false };
  if (from.getTime() >= step.cutoff.getTime()) return stop;
  const span = Math.max(1, Math.min(progress.stepMs, step.cutoff.getTime() - from.getTime()));
  const end = new Date(from.getTime() + span);
  const cut = await stepEnd(tx, from, end, step.limit);
  let to = cut ?? end;
  if (to.getTime() <= from.getTime()) {
    if (!step.nothingFoldedYet) return stop;
    to = new Date(from.getTime() + 1);
  }
  const folded = await foldStamped(tx, from, to);
  const taken = to.getTime() - from.getTime();
  // The next span from this one's density: what held about a step's worth, or grown (up to 4x)
  // towards it, so empty stretches are crossed in a few steps.
  const next =
    cut !== null
      ? taken
      : folded === 0
        ? taken * 4
        : taken * Math.min(4, Math.max(1, (0.8 * ROLLUP_STEP_ROWS) / folded));
  await advanceProgress(tx, to, Math.round(Math.min(MAX_STEP_MS, Math.max(1, next))));
  return { folded, rolledUpTo: to, stopped: false, cut: cut !== null };
}

/** Rows deleted per prune statement. */
const PRUNE_BATCH = 10_000;

/**
 * Drops rollup_players rows of buckets no event can land in any more, within the run's time
 * bound: an event is stored at most IDEMPOTENCY_WINDOW_DAYS after it occurred (the consumer
 * refuses older ones), so once the rollups reach T, a bucket that ended before T minus that
 * window is final.
 */
async function pruneClosedBuckets(
  db: Database,
  rolledUpTo: Date,
  started: number,
  options: { bounds: RollupBounds },
  clock: () => number,
): Promise<number> {
  const closedBefore = new Date(rolledUpTo.getTime() - IDEMPOTENCY_WINDOW_DAYS * DAY_MS);
  let pruned = 0;
  while (clock() - started < options.bounds.maxSeconds * 1000) {
    const n = await pruneRollupPlayers(db, closedBefore, PRUNE_BATCH);
    pruned += n;
    if (n < PRUNE_BATCH) break;
  }
  return pruned;
}
