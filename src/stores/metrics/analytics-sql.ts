import type { WindowFigures } from "./points";

const SQL_TIMEOUT_MS = 10_000;

export interface AnalyticsSqlAccess {
  accountId: string;
  token: string;
  /** The dataset's name (METRICS_DATASET): checked to be an identifier before it meets SQL. */
  dataset: string;
}

/**
 * The window's figures from the Analytics Engine SQL API: two queries (sums by route or queue
 * and detail; duration quantiles by route or queue), every sum weighted by _sample_interval so
 * sampled points count for the ones they stand for. Throws when the API cannot answer.
 */
export async function readAnalyticsWindow(
  access: AnalyticsSqlAccess,
  seconds: number,
): Promise<WindowFigures> {
  if (!/^[A-Za-z0-9_]+$/.test(access.dataset))
    throw new Error(`METRICS_DATASET "${access.dataset}" is not a dataset name`);
  const since = `timestamp > NOW() - INTERVAL '${Math.floor(seconds)}' SECOND`;
  const [sums, quantiles] = await Promise.all([
    query(
      access,
      `SELECT blob1 AS kind, blob2 AS name, blob3 AS detail, blob4 AS cache,
        SUM(_sample_interval * double2) AS count, SUM(_sample_interval * double3) AS d3,
        SUM(_sample_interval * double4) AS d4, SUM(_sample_interval * double5) AS lagSum,
        SUM(_sample_interval * double6) AS lagEvents, MAX(double7) AS lagMax,
        SUM(_sample_interval) AS points
      FROM ${access.dataset} WHERE ${since}
      GROUP BY kind, name, detail, cache FORMAT JSON`,
    ),
    query(
      access,
      `SELECT blob1 AS kind, blob2 AS name,
        quantileExactWeighted(0.5)(double1, _sample_interval) AS p50,
        quantileExactWeighted(0.95)(double1, _sample_interval) AS p95
      FROM ${access.dataset} WHERE ${since} AND blob1 IN ('request', 'batch')
      GROUP BY kind, name FORMAT JSON`,
    ),
  ]);
  return figuresOf(sums, quantiles);
}

type Row = Record<string, string | number | null>;

async function query(access: AnalyticsSqlAccess, sql: string): Promise<Row[]> {
  const res = await fetch(
    `https://api.cloudflare.com/client/v4/accounts/${encodeURIComponent(access.accountId)}/analytics_engine/sql`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${access.token}` },
      body: sql,
      signal: AbortSignal.timeout(SQL_TIMEOUT_MS),
    },
  );
  const text = await res.text();
  if (!res.ok)
    throw new Error(`Analytics Engine SQL API answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { data?: Row[] }).data ?? [];
}

/** ClickHouse's JSON writes 64-bit integers as strings. */
const num = (value: unknown): number => Number(value ?? 0) || 0;

function figuresOf(sums: Row[], quantiles: Row[]): WindowFigures {
  const figures: WindowFigures = { routes: [], queues: [], deadLetters: [], rateLimited: [] };
  const routes = new Map<string, WindowFigures["routes"][number]>();
  const queues = new Map<string, WindowFigures["queues"][number]>();
  const quantile = new Map(quantiles.map((q) => [`${q.kind}\t${q.name}`, q]));
  for (const row of sums) {
    const name = String(row.name ?? "");
    if (row.kind === "request") {
      let route = routes.get(name);
      if (!route) {
        const q = quantile.get(`request\t${name}`);
        route = {
          route: name,
          requests: 0,
          statuses: {},
          cache: {},
          p50Ms: q ? num(q.p50) : null,
          p95Ms: q ? num(q.p95) : null,
        };
        routes.set(name, route);
      }
      route.requests += num(row.count);
      const status = String(row.detail ?? "");
      route.statuses[status] = (route.statuses[status] ?? 0) + num(row.count);
      const cache = String(row.cache ?? "");
      if (cache) route.cache[cache] = (route.cache[cache] ?? 0) + num(row.count);
    } else if (row.kind === "batch") {
      let queue = queues.get(name);
      if (!queue) {
        const q = quantile.get(`batch\t${name}`);
        queue = {
          queue: name,
          batches: 0,
          events: 0,
          statements: 0,
          retried: 0,
          p50Ms: q ? num(q.p50) : null,
          p95Ms: q ? num(q.p95) : null,
          lagSumMs: 0,
          lagEvents: 0,
          lagMaxMs: null,
        };
        queues.set(name, queue);
      }
      queue.batches += num(row.points);
      queue.events += num(row.count);
      queue.statements += num(row.d3);
      queue.retried += num(row.d4);
      queue.lagSumMs += num(row.lagSum);
      queue.lagEvents += num(row.lagEvents);
      if (num(row.lagEvents) > 0) queue.lagMaxMs = Math.max(queue.lagMaxMs ?? 0, num(row.lagMax));
    } else if (row.kind === "dead_letter") {
      figures.deadLetters.push({ queue: name, letters: num(row.count) });
    } else if (row.kind === "rate_limited") {
      figures.rateLimited.push({
        route: name,
        limiter: String(row.detail ?? ""),
        requests: num(row.count),
      });
    }
  }
  figures.routes = [...routes.values()];
  figures.queues = [...queues.values()];
  return figures;
}
