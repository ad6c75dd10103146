import type { Context } from "hono";
import { log } from "../../lib/log";
import { metricsSinkFor } from "../../stores/metrics";
import type { AppContext } from "../context";
import { routeOf } from "../route-name";

/**
 * What every request leaves behind once answered: one data point (route, status, page-cache
 * outcome, duration) and one JSON log line with its request id, unless METRICS_ENABLED is
 * "false". The duration is the Workers clock's, which advances only across I/O.
 */
export function recordRequest(c: Context<AppContext>, startedAt: number): void {
  if (c.env.METRICS_ENABLED === "false") return;
  const route = routeOf(c);
  const status = c.res.status;
  const cache = c.res.headers.get("x-edge-cache") ?? "";
  const ms = performance.now() - startedAt;
  metricsSinkFor(c.env).write({ kind: "request", route, status, cache, ms });
  log.info("request", {
    requestId: c.get("requestId"),
    route,
    status,
    ms,
    outcome:
      status >= 500 ? "error" : status === 429 ? "rate_limited" : status >= 400 ? "refused" : "ok",
    ...(cache ? { cache } : {}),
  });
}
