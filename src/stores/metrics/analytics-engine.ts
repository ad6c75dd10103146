import type { MetricPoint, MetricsSink } from "./points";

/**
 * Data points in Workers Analytics Engine (docs/operations.md "Metrics" has the layout). The
 * index is the route or the queue, so when a busy route is sampled a quiet one stays whole;
 * blob1 says which kind of point it is, and the doubles keep one meaning per position where the
 * kinds share one (double1 a duration, double2 a count).
 */
export function analyticsEngineSink(dataset: AnalyticsEngineDataset): MetricsSink {
  return {
    write(point: MetricPoint): void {
      try {
        dataset.writeDataPoint(layout(point));
      } catch {
        // A data point is never worth failing a request or a batch for.
      }
    },
  };
}

function layout(point: MetricPoint): AnalyticsEngineDataPoint {
  switch (point.kind) {
    case "request":
      return {
        indexes: [point.route],
        blobs: ["request", point.route, String(point.status), point.cache],
        doubles: [point.ms, 1, point.status],
      };
    case "batch":
      return {
        indexes: [point.queue],
        blobs: ["batch", point.queue, point.outcome, ""],
        doubles: [
          point.ms,
          point.events,
          point.statements,
          point.retried,
          point.lagSumMs,
          point.lagEvents,
          point.lagMaxMs,
          point.messages,
        ],
      };
    case "dead_letter":
      return {
        indexes: [point.queue],
        blobs: ["dead_letter", point.queue, "", ""],
        doubles: [0, point.letters],
      };
    case "rate_limited":
      return {
        indexes: [point.route],
        blobs: ["rate_limited", point.route, point.limiter, ""],
        doubles: [0, 1],
      };
  }
}
