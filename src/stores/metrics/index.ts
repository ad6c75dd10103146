import type { AppBindings } from "../../env";
import { analyticsEngineSink } from "./analytics-engine";
import { readAnalyticsWindow } from "./analytics-sql";
import { localSink, readLocalWindow } from "./local-sink";
import type { MetricsSink, WindowFigures } from "./points";

export type { MetricsSink, WindowFigures } from "./points";

const NO_SINK: MetricsSink = { write: () => {} };
/** One wrapper per dataset binding, not one per request. */
const wrappers = new WeakMap<AnalyticsEngineDataset, MetricsSink>();

/**
 * Where this deployment's data points go (METRICS_SINK): Analytics Engine when deployed, this
 * isolate's aggregates in development; nowhere when METRICS_ENABLED is "false" or the binding is
 * missing.
 */
export function metricsSinkFor(env: AppBindings): MetricsSink {
  if (env.METRICS_ENABLED === "false") return NO_SINK;
  if (env.METRICS_SINK !== "analytics-engine") return localSink;
  const dataset = env.METRICS;
  if (!dataset) return NO_SINK;
  let sink = wrappers.get(dataset);
  if (!sink) {
    sink = analyticsEngineSink(dataset);
    wrappers.set(dataset, sink);
  }
  return sink;
}

/** Where a window's figures are read from, or why they cannot be. */
export type WindowSource =
  | { source: "local" | "analytics-engine"; read: (seconds: number) => Promise<WindowFigures> }
  | { source: "analytics-engine"; unavailable: string };

export function metricsWindowSource(env: AppBindings): WindowSource {
  if (env.METRICS_SINK !== "analytics-engine")
    return { source: "local", read: async (seconds) => readLocalWindow(seconds) };
  const accountId = env.ANALYTICS_ACCOUNT_ID;
  const token = env.ANALYTICS_API_TOKEN;
  if (!accountId || !token || !env.METRICS_DATASET) {
    const missing = [
      ...(accountId ? [] : ["ANALYTICS_ACCOUNT_ID"]),
      ...(token ? [] : ["ANALYTICS_API_TOKEN"]),
      ...(env.METRICS_DATASET ? [] : ["METRICS_DATASET"]),
    ];
    return {
      source: "analytics-engine",
      unavailable:
        `${missing.join(", ")} not configured: the window's figures need the Analytics Engine ` +
        "SQL API (docs/operations.md, Metrics)",
    };
  }
  return {
    source: "analytics-engine",
    read: (seconds) =>
      readAnalyticsWindow({ accountId, token, dataset: env.METRICS_DATASET }, seconds),
  };
}
