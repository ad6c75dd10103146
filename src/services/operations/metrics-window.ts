import type { AppBindings } from "../../env";
import { describeError, log } from "../../lib/log";
import { metricsWindowSource, type WindowFigures } from "../../stores/metrics";

/** The windows GET /v1/admin/metrics reports over, in seconds. */
export const METRICS_WINDOWS = { "5m": 300, "1h": 3_600, "24h": 86_400 } as const;
export type MetricsWindowName = keyof typeof METRICS_WINDOWS;

/** Page-cache outcomes that served a stored page. */
const SERVED_FROM_CACHE = ["HIT", "STALE"];

const round = (n: number, places = 3) => Math.round(n * 10 ** places) / 10 ** places;

function hitRatio(cache: Record<string, number>): number | null {
  let all = 0;
  let served = 0;
  for (const [outcome, n] of Object.entries(cache)) {
    all += n;
    if (SERVED_FROM_CACHE.includes(outcome)) served += n;
  }
  return all === 0 ? null : round(served / all);
}

/**
 * A window's figures as the admin reads them: rates per second, cache hit ratios and consumer lag
 * derived from the sums; when the source cannot answer (Analytics Engine without its API token,
 * or the API failing), `available` is false and `unavailable` says why, so the counters around
 * it are still served.
 */
export async function readMetricsWindow(
  env: AppBindings,
  name: MetricsWindowName,
  now = Date.now(),
) {
  const seconds = METRICS_WINDOWS[name];
  const frame = {
    window: name,
    seconds,
    from: new Date(now - seconds * 1000).toISOString(),
    to: new Date(now).toISOString(),
  };
  const source = metricsWindowSource(env);
  let figures: WindowFigures;
  if ("unavailable" in source) return unavailable(frame, source.source, source.unavailable);
  try {
    figures = await source.read(seconds);
  } catch (error) {
    log.warn("metrics: window unreadable", { source: source.source, error: describeError(error) });
    return unavailable(
      frame,
      source.source,
      `the ${source.source} query failed: ${describeError(error)}`,
    );
  }
  const perSecond = (n: number) => round(n / seconds);
  const routes = figures.routes
    .map((r) => ({
      route: r.route,
      requests: r.requests,
      perSecond: perSecond(r.requests),
      statuses: r.statuses,
      serverErrors: Object.entries(r.statuses).reduce(
        (n, [status, count]) => (Number(status) >= 500 ? n + count : n),
        0,
      ),
      cache: r.cache,
      cacheHitRatio: hitRatio(r.cache),
      p50Ms: r.p50Ms,
      p95Ms: r.p95Ms,
    }))
    .sort((a, b) => b.requests - a.requests);
  const total = routes.reduce((n, r) => n + r.requests, 0);
  const allCache: Record<string, number> = {};
  for (const r of routes)
    for (const [outcome, n] of Object.entries(r.cache))
      allCache[outcome] = (allCache[outcome] ?? 0) + n;
  return {
    ...frame,
    source: source.source,
    available: true,
    requests: {
      total,
      perSecond: perSecond(total),
      serverErrors: routes.reduce((n, r) => n + r.serverErrors, 0),
      cacheHitRatio: hitRatio(allCache),
    },
    routes,
    queues: figures.queues.map((q) => ({
      queue: q.queue,
      batches: q.batches,
      events: q.events,
      eventsPerSecond: perSecond(q.events),
      statements: q.statements,
      retried: q.retried,
      p50Ms: q.p50Ms,
      p95Ms: q.p95Ms,
      lagAvgMs: q.lagEvents > 0 ? Math.round(q.lagSumMs / q.lagEvents) : null,
      lagMaxMs: q.lagMaxMs,
    })),
    deadLetters: figures.deadLetters,
    rateLimited: figures.rateLimited,
  };
}

function unavailable(
  frame: { window: MetricsWindowName; seconds: number; from: string; to: string },
  source: "local" | "analytics-engine",
  why: string,
) {
  return {
    ...frame,
    source,
    available: false,
    unavailable: why,
    requests: null,
    routes: [],
    queues: [],
    deadLetters: [],
    rateLimited: [],
  };
}
