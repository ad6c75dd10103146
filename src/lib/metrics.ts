/**
 * Per-isolate counters for the things an operator asks about when something is slow: cache
 * outcomes, Durable Object reads, database queries on the read path, fallbacks. Module scope
 * holds plain numbers only. They are exposed by the metrics route and read directly by tests
 * (tests run in the worker's isolate), which is how "zero database queries for a top-N read" is
 * checked rather than assumed.
 */
export const counters = {
  cacheHit: 0,
  cacheStale: 0,
  cacheMiss: 0,
  cacheRevalidated: 0,
  notModified: 0,
  doReads: 0,
  doRebuilds: 0,
  redisReads: 0,
  redisFailures: 0,
  /** Redis reads and projection writes not tried because its circuit was open (redisBreakerFor). */
  redisSkipped: 0,
  /**
   * Board-periods whose Redis keys a projection found trailing their object's watermark (dropped,
   * reloaded).
   */
  redisBehind: 0,
  /** Reads of a board-period Redis does not hold whole yet (answered from Postgres). */
  redisNotReady: 0,
  /**
   * Ready board-periods the reconciliation found disagreeing with Postgres (a member lost, a wrong
   * score, a count that differs) and asked to reload (services/projection/rank-verify.ts).
   */
  redisMismatches: 0,
  postgresReads: 0,
  /** Postgres rank fallbacks that waited for a turn at the isolate's gate (rank-gate.ts). */
  postgresRankWaits: 0,
  /** ... and that were refused (503): too many waiting, or waited too long. */
  postgresRankRefused: 0,
  /**
   * Queries sent over Neon's HTTP endpoint (request paths, rebuilds): zero on a served top-N read.
   */
  postgresQueries: 0,
  /** WebSocket pools opened (queue batches, cron jobs, readiness): none on a read. */
  postgresConnections: 0,
  /** Requests whose credential was present but wrong (401). */
  authRefused: 0,
  /** Requests refused for a missing scope or a private board (403). */
  accessDenied: 0,
  /** Requests answered 429, by the per-PoP binding or the global Upstash limit. */
  rateLimited: 0,
  rateLimitedGlobal: 0,
  /** Events refused per item because their step exceeds the board's maxIncrement. */
  rejectedIncrementTooLarge: 0,
  /** Events refused per item beyond their board's maxScoreEventsPerMinute for the player. */
  rejectedTooManyScoreEvents: 0,
  /**
   * Redis round trips counting score events against a board's per-minute limit (one per request at
   * most).
   */
  scoreRateRedisCalls: 0,
  /**
   * Requests whose per-minute limits were counted in this isolate's memory (no Redis, or it
   * failed).
   */
  scoreRateLocal: 0,
  pagePurges: 0,
  doApplies: 0,
  /**
   * Cron job runs whose record (job_runs) could not be written: the job's outcome stood, but it
   * may read as degraded (services/operations/job-records.ts).
   */
  jobRecordFailures: 0,
};

export type Counter = keyof typeof counters;

export function count(name: Counter, by = 1): void {
  counters[name] += by;
}

export function snapshot(): Record<Counter, number> {
  return { ...counters };
}
