/**
 * What the worker records about its own work, one data point per event, whichever sink takes
 * them (Analytics Engine when deployed, this isolate's aggregates in development).
 */
export type MetricPoint =
  | {
      kind: "request";
      /** "METHOD /path/{param}" as declared (the OpenAPI path), or "unmatched". */
      route: string;
      status: number;
      /** The page cache's outcome from the x-edge-cache header (HIT, STALE, MISS, BYPASS), or "". */
      cache: string;
      ms: number;
    }
  | {
      kind: "batch";
      queue: string;
      /** ok: every message settled; partial: some retried; failed: the whole batch retried. */
      outcome: "ok" | "partial" | "failed";
      ms: number;
      messages: number;
      events: number;
      statements: number;
      /** Messages sent back for another delivery. */
      retried: number;
      /**
       * Consumer lag, from each event's receivedAt (the edge accepted it) to its batch's write:
       * the sum over `lagEvents` events, and the largest.
       */
      lagSumMs: number;
      lagEvents: number;
      lagMaxMs: number;
    }
  | {
      kind: "dead_letter";
      /** The queue the letters died on. */
      queue: string;
      letters: number;
    }
  | {
      kind: "rate_limited";
      route: string;
      /** Which budget ran out: address, player, key, or global (Upstash, across PoPs). */
      limiter: string;
    };

/** Takes data points; writing never throws and never waits. */
export interface MetricsSink {
  write(point: MetricPoint): void;
}

/** What a window of data points adds up to, per route, queue and so on (sums, not rates). */
export interface WindowFigures {
  routes: Array<{
    route: string;
    requests: number;
    /** Requests by status code ("200", "404", ...). */
    statuses: Record<string, number>;
    /** Requests by page-cache outcome (only routes that report one have any). */
    cache: Record<string, number>;
    p50Ms: number | null;
    p95Ms: number | null;
  }>;
  queues: Array<{
    queue: string;
    batches: number;
    events: number;
    statements: number;
    retried: number;
    p50Ms: number | null;
    p95Ms: number | null;
    lagSumMs: number;
    lagEvents: number;
    lagMaxMs: number | null;
  }>;
  deadLetters: Array<{ queue: string; letters: number }>;
  rateLimited: Array<{ route: string; limiter: string; requests: number }>;
}
