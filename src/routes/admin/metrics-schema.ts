import { z } from "@hono/zod-openapi";
import { METRICS_WINDOWS, type MetricsWindowName } from "../../services/operations/metrics-window";

const WINDOW_NAMES = Object.keys(METRICS_WINDOWS) as [MetricsWindowName, ...MetricsWindowName[]];

export const MetricsQuerySchema = z.object({
  window: z
    .enum(WINDOW_NAMES)
    .default("5m")
    .openapi({ description: "The span the `window` figures cover, ending now" }),
});

const durationMs = z.number().nullable().openapi({
  description: "Milliseconds (null: nothing in the window); locally, a histogram bucket's bound",
});

const MetricsWindowSchema = z
  .object({
    window: z.enum(WINDOW_NAMES),
    seconds: z.number().int(),
    from: z.string(),
    to: z.string(),
    source: z.enum(["local", "analytics-engine"]).openapi({
      description:
        "local: this isolate's per-minute sums (development); analytics-engine: the SQL API",
    }),
    available: z.boolean(),
    unavailable: z
      .string()
      .optional()
      .openapi({ description: "Why the figures could not be read (available is false)" }),
    requests: z
      .object({
        total: z.number(),
        perSecond: z.number(),
        serverErrors: z.number(),
        cacheHitRatio: z.number().nullable(),
      })
      .nullable(),
    routes: z.array(
      z.object({
        route: z.string().openapi({ description: '"METHOD /path/{param}", or "unmatched"' }),
        requests: z.number(),
        perSecond: z.number(),
        statuses: z
          .record(z.string(), z.number())
          .openapi({ description: 'Requests by status code ("200", "404", ...)' }),
        serverErrors: z.number(),
        cache: z.record(z.string(), z.number()).openapi({
          description: "Requests by x-edge-cache outcome (HIT, STALE, MISS, BYPASS)",
        }),
        cacheHitRatio: z.number().nullable().openapi({
          description: "(HIT + STALE) / requests with an outcome; null: the route reports none",
        }),
        p50Ms: durationMs,
        p95Ms: durationMs,
      }),
    ),
    queues: z.array(
      z.object({
        queue: z.string(),
        batches: z.number(),
        events: z.number(),
        eventsPerSecond: z.number(),
        statements: z.number(),
        retried: z.number(),
        p50Ms: durationMs,
        p95Ms: durationMs,
        lagAvgMs: z.number().nullable().openapi({
          description: "Mean time from an event's acceptance (receivedAt) to its batch's write",
        }),
        lagMaxMs: z.number().nullable(),
      }),
    ),
    deadLetters: z.array(z.object({ queue: z.string(), letters: z.number() })),
    rateLimited: z.array(
      z.object({
        route: z.string(),
        limiter: z.string().openapi({ description: "address, player, key or global" }),
        requests: z.number(),
      }),
    ),
  })
  .openapi("MetricsWindow");

/**
 * The isolate's counters and the job figures stay flat at the top, as before; the window's
 * figures sit under `window`.
 */
export const MetricsSchema = z
  .object({ window: MetricsWindowSchema })
  .catchall(z.number())
  .openapi("Metrics");
