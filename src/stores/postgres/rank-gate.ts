import { ApiError } from "../../lib/errors";
import { count } from "../../lib/metrics";

/** How the gate bounds the ranks Postgres computes for this isolate. */
export interface RankGateLimits {
  /** Counts running at once. */
  running: number;
  /** Requests waiting for a turn; one more is refused at once. */
  waiting: number;
  /** Longest wait for a turn before refusing. */
  maxWaitMs: number;
  /**
   * A place held longer than this was abandoned (default 30 s: no rank count of ours takes that
   * long).
   */
  staleAfterMs?: number;
}

/**
 * Without Redis (not configured, down, or a period it has not loaded yet) ranks beyond the top-N
 * come from Postgres: band counts plus one index range inside a band (ranks.ts), cheap whatever
 * the board's size, but a band where most players tie is counted row by row. Left alone, a burst
 * of them during an Upstash outage could still take all of Postgres and stall ingestion with it.
 * So each isolate runs at most `running` at once; the others wait their turn, and one that would
 * wait too long, or find too many waiting, is answered 503 with Retry-After. Waiting is polling:
 * a promise settled by another request's code is not safe to await in Workers.
 */
export class RankGate {
  // Leases rather than counters: a request the client abandons may be cancelled mid-await, and
  // then its `finally` never runs. A lease older than any real holder is let go, so such a request
  // cannot hold a place for the isolate's lifetime.
  readonly #running: Leases;
  readonly #waiting: Leases;

  constructor(readonly limits: RankGateLimits) {
    const stale = limits.staleAfterMs ?? STALE_AFTER_MS;
    this.#running = new Leases(stale);
    this.#waiting = new Leases(Math.max(stale, limits.maxWaitMs));
  }

  async run<T>(compute: () => Promise<T>): Promise<T> {
    if (this.#running.size() >= this.limits.running) await this.#turn();
    const lease = this.#running.take();
    try {
      return await compute();
    } finally {
      this.#running.give(lease);
    }
  }

  async #turn(): Promise<void> {
    if (this.#waiting.size() >= this.limits.waiting) refuse();
    const lease = this.#waiting.take();
    count("postgresRankWaits");
    try {
      const deadline = Date.now() + this.limits.maxWaitMs;
      for (
        let pause = 5;
        this.#running.size() >= this.limits.running;
        pause = Math.min(pause * 2, 50)
      ) {
        if (Date.now() >= deadline) refuse();
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    } finally {
      this.#waiting.give(lease);
    }
  }
}

const STALE_AFTER_MS = 30_000;

/** Places taken (epoch ms when taken, by token); the ones older than `staleMs` do not count. */
class Leases {
  readonly #taken = new Map<symbol, number>();

  constructor(readonly staleMs: number) {}

  take(): symbol {
    const lease = Symbol("lease");
    this.#taken.set(lease, Date.now());
    return lease;
  }

  give(lease: symbol): void {
    this.#taken.delete(lease);
  }

  size(): number {
    const now = Date.now();
    for (const [lease, at] of this.#taken) if (now - at > this.staleMs) this.#taken.delete(lease);
    return this.#taken.size;
  }
}

const RETRY_AFTER_SECONDS = 5;

function refuse(): never {
  count("postgresRankRefused");
  throw new ApiError(
    "DEPENDENCY_UNAVAILABLE",
    "Ranks beyond the top-N come from Postgres while Redis cannot answer, and it is at capacity; " +
      `retry in ${RETRY_AFTER_SECONDS} s`,
    { retryAfterSeconds: RETRY_AFTER_SECONDS },
    { "retry-after": String(RETRY_AFTER_SECONDS) },
  );
}

/** The isolate's gate for the read path's Postgres rank fallbacks. */
export const postgresRanks = new RankGate({ running: 4, waiting: 64, maxWaitMs: 3_000 });
