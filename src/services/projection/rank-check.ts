import type { Redis } from "@upstash/redis/cloudflare";
import { boardPeriodKey } from "../../domain";
import type { Database } from "../../stores/postgres/client";
import { rankResync } from "../../stores/postgres/schema";
import { countScores, type SampledScore, sampleScores } from "../../stores/postgres/score-samples";
import { encodeMember } from "../../stores/redis/member";
import { type RedisSample, sampleFromRedis } from "../../stores/redis/sample";

/**
 * How long before a ready marker a record may have been written and still be on its way to Redis:
 * a batch's rows carry its transaction's start time, and the projection of an earlier batch can
 * land after a later one's (within WATERMARK_TOLERANCE_MS; a write that fails or times out, 3 s,
 * queues a resync instead). Records updated since are never counted as lost.
 */
const IN_FLIGHT_MS = 60_000;

/** A ready board-period as the run's first Redis read saw it (the marker pipeline). */
export interface CheckCandidate {
  boardId: string;
  periodKey: string;
  /** Its ready marker (epoch ms, Postgres' clock). */
  at: number;
  /** Its ZCARD (= HLEN) at that read. */
  players: number;
}

/** How Redis disagreed with Postgres (the first one found is reported per record). */
type MismatchKind = "missing" | "stale" | "score" | "count";

export interface Mismatch {
  kind: MismatchKind;
  /** The record's player (sampled checks), or the counts compared (count check). */
  playerId?: string;
  detail?: string;
}

/** One board-period's check. */
export interface CheckOutcome {
  /** skipped: the keys lost their marker, or their counts disagree, since the run read them. */
  status: "ok" | "mismatch" | "skipped";
  /** Records compared record by record. */
  compared: number;
  /** Sampled records left out: written within IN_FLIGHT_MS of the marker, or newer in Redis. */
  inFlight: number;
  /** Whether the count was compared (its size fit the run's count budget). */
  counted: boolean;
  mismatches: Mismatch[];
}

/**
 * Compares one ready board-period of Redis with Postgres, within bounds: the count (if `count`),
 * then up to `sample` records from `pivot` on (sampleScores), read from Redis in ONE script call.
 * What a projection still in flight explains is not a mismatch: the count must lie between the
 * records written before the marker's in-flight window and all of them (Redis read first, so a
 * record added since is in Postgres' total), and a sampled record written within the window, or
 * held newer by Redis, is left out.
 */
export async function checkBoardPeriod(
  db: Database,
  redis: Redis,
  prefix: string,
  seen: CheckCandidate,
  options: { sample: number; count: boolean; pivot: string; inFlightMs?: number },
): Promise<CheckOutcome> {
  const inFlightMs = options.inFlightMs ?? IN_FLIGHT_MS;
  const outcome: CheckOutcome = {
    status: "ok",
    compared: 0,
    inFlight: 0,
    counted: options.count,
    mismatches: [],
  };
  if (options.count) {
    const { total, recent } = await countScores(
      db,
      seen.boardId,
      seen.periodKey,
      seen.at - inFlightMs,
    );
    if (seen.players < total - recent || seen.players > total)
      outcome.mismatches.push({
        kind: "count",
        detail: `Redis ${seen.players}, Postgres ${total} (${recent} in flight)`,
      });
  }
  const rows = await sampleScores(db, seen.boardId, seen.periodKey, options.pivot, options.sample);
  if (rows.length > 0) {
    const sample = await sampleFromRedis(
      redis,
      prefix,
      seen.boardId,
      seen.periodKey,
      rows.map((r) => r.playerId),
    );
    // Gone or torn since the run's first read: the not-ready path reloads it, not this one.
    if (sample.marker === null || sample.players !== sample.records)
      return { ...outcome, status: "skipped", mismatches: [] };
    compareSample(rows, sample, sample.marker - inFlightMs, outcome);
  }
  if (outcome.mismatches.length > 0) outcome.status = "mismatch";
  return outcome;
}

/** Adds each sampled record written before `settledBefore` that Redis lacks or holds wrongly. */
function compareSample(
  rows: readonly SampledScore[],
  sample: RedisSample,
  settledBefore: number,
  outcome: CheckOutcome,
): void {
  rows.forEach((row, i) => {
    const held = sample.sampled[i];
    // Written within the window, or moved on since Postgres was read: not comparable.
    if (row.updatedAt >= settledBefore || (held && held.version > row.version)) {
      outcome.inFlight += 1;
      return;
    }
    outcome.compared += 1;
    const mismatch = (kind: MismatchKind) =>
      outcome.mismatches.push({ kind, playerId: row.playerId });
    if (!held) mismatch("missing");
    else if (held.version < row.version) mismatch("stale");
    else if (
      held.member !== encodeMember(row.reachedAt, row.playerId) ||
      held.sortScore !== row.sortScore
    )
      mismatch("score");
  });
}

/** Which ready board-periods a run checks: at most `perRun`. */
export function pickChecks(
  candidates: readonly CheckCandidate[],
  options: {
    perRun: number;
    /** How many of them are the most recently written (highest marker). */
    hot: number;
    /** The run's turn (minutes since the epoch): the rest rotate through the candidates by it. */
    slot: number;
    /** Boards checked before any other (an operator's suspicion, tests). */
    first?: ReadonlySet<string>;
  },
): CheckCandidate[] {
  const picked = new Map<string, CheckCandidate>();
  const add = (c: CheckCandidate) => {
    if (picked.size < options.perRun) picked.set(boardPeriodKey(c.boardId, c.periodKey), c);
  };
  for (const c of candidates) if (options.first?.has(c.boardId)) add(c);
  const byRecency = [...candidates].sort((a, b) => b.at - a.at);
  for (const c of byRecency.slice(0, options.hot)) add(c);
  const n = candidates.length;
  const rotating = Math.max(0, options.perRun - options.hot);
  const start = n === 0 ? 0 : (((options.slot * rotating) % n) + n) % n;
  for (let i = 0; i < n && picked.size < options.perRun; i += 1) {
    const c = candidates[(start + i) % n];
    if (c && !picked.has(boardPeriodKey(c.boardId, c.periodKey))) add(c);
  }
  return [...picked.values()];
}

/** The id alphabet of the API, in byte order: sample windows start at a random id made of it. */
const ID_ALPHABET = "-.0123456789:@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz|";

/** A random player id to start a sample window at (sampleScores wraps round from it). */
export function randomPivot(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return [...bytes].map((b) => ID_ALPHABET[b % ID_ALPHABET.length]).join("");
}

/**
 * Asks for a whole reload of board-periods found disagreeing with Postgres, through rank_resync
 * (since null). A request already there is left as it is: a reload in progress must still clear
 * it, and a record repair that does not cure the keys is followed by this check's next finding.
 * Returns how many were new.
 */
export async function requestReloads(
  db: Database,
  boardPeriods: ReadonlyArray<{ boardId: string; periodKey: string }>,
): Promise<number> {
  if (boardPeriods.length === 0) return 0;
  const inserted = await db
    .insert(rankResync)
    .values(boardPeriods.map((bp) => ({ boardId: bp.boardId, periodKey: bp.periodKey })))
    .onConflictDoNothing()
    .returning({ boardId: rankResync.boardId });
  return inserted.length;
}
