import { addHistogram, countDuration, newHistogram, quantileOf } from "../../lib/latency-histogram";
import type { MetricPoint, MetricsSink, WindowFigures } from "./points";

/**
 * The development sink: data points summed per minute in this isolate's memory, 24 hours kept.
 * wrangler dev and the tests run the worker, its queue consumers and its objects in one isolate,
 * so this sees every point without the subrequest per request a Durable Object would cost (and
 * bench:read would then measure); what it loses is history when the isolate restarts (a code
 * reload), which development can afford.
 */
const MINUTE_MS = 60_000;
const KEPT_MINUTES = 24 * 60 + 1;

type RouteSums = {
  requests: number;
  statuses: Record<string, number>;
  cache: Record<string, number>;
  durations: Uint32Array;
};
type QueueSums = {
  batches: number;
  events: number;
  statements: number;
  retried: number;
  lagSumMs: number;
  lagEvents: number;
  lagMaxMs: number;
  durations: Uint32Array;
};
type Minute = {
  routes: Map<string, RouteSums>;
  queues: Map<string, QueueSums>;
  deadLetters: Map<string, number>;
  /** By route and limiter, joined by a tab. */
  rateLimited: Map<string, number>;
};

/** Minutes by their number since the epoch, oldest first (a Map keeps insertion order). */
const minutes = new Map<number, Minute>();
let current: { at: number; minute: Minute } | null = null;

function minuteNow(): Minute {
  const at = Math.floor(Date.now() / MINUTE_MS);
  if (current?.at === at) return current.minute;
  let minute = minutes.get(at);
  if (!minute) {
    minute = {
      routes: new Map(),
      queues: new Map(),
      deadLetters: new Map(),
      rateLimited: new Map(),
    };
    minutes.set(at, minute);
    for (const old of minutes.keys()) {
      if (old > at - KEPT_MINUTES) break;
      minutes.delete(old);
    }
  }
  current = { at, minute };
  return minute;
}

function write(point: MetricPoint): void {
  const minute = minuteNow();
  switch (point.kind) {
    case "request": {
      let sums = minute.routes.get(point.route);
      if (!sums) {
        sums = { requests: 0, statuses: {}, cache: {}, durations: newHistogram() };
        minute.routes.set(point.route, sums);
      }
      sums.requests += 1;
      sums.statuses[point.status] = (sums.statuses[point.status] ?? 0) + 1;
      if (point.cache) sums.cache[point.cache] = (sums.cache[point.cache] ?? 0) + 1;
      countDuration(sums.durations, point.ms);
      return;
    }
    case "batch": {
      let sums = minute.queues.get(point.queue);
      if (!sums) {
        sums = emptyQueueSums();
        minute.queues.set(point.queue, sums);
      }
      sums.batches += 1;
      sums.events += point.events;
      sums.statements += point.statements;
      sums.retried += point.retried;
      sums.lagSumMs += point.lagSumMs;
      sums.lagEvents += point.lagEvents;
      sums.lagMaxMs = Math.max(sums.lagMaxMs, point.lagMaxMs);
      countDuration(sums.durations, point.ms);
      return;
    }
    case "dead_letter":
      minute.deadLetters.set(
        point.queue,
        (minute.deadLetters.get(point.queue) ?? 0) + point.letters,
      );
      return;
    case "rate_limited": {
      const key = `${point.route}\t${point.limiter}`;
      minute.rateLimited.set(key, (minute.rateLimited.get(key) ?? 0) + 1);
      return;
    }
  }
}

export const localSink: MetricsSink = { write };

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [name, n] of Object.entries(from)) into[name] = (into[name] ?? 0) + n;
}

function emptyQueueSums(): QueueSums {
  return {
    batches: 0,
    events: 0,
    statements: 0,
    retried: 0,
    lagSumMs: 0,
    lagEvents: 0,
    lagMaxMs: 0,
    durations: newHistogram(),
  };
}

function addQueueSums(into: QueueSums, from: QueueSums): void {
  into.batches += from.batches;
  into.events += from.events;
  into.statements += from.statements;
  into.retried += from.retried;
  into.lagSumMs += from.lagSumMs;
  into.lagEvents += from.lagEvents;
  into.lagMaxMs = Math.max(into.lagMaxMs, from.lagMaxMs);
  addHistogram(into.durations, from.durations);
}

/**
 * The sums of the minutes that overlap the last `seconds` (whole minutes: the oldest one may
 * begin up to a minute before the window).
 */
export function readLocalWindow(seconds: number, now = Date.now()): WindowFigures {
  const first = Math.floor((now - seconds * 1000) / MINUTE_MS);
  const routes = new Map<string, RouteSums>();
  const queues = new Map<string, QueueSums>();
  const deadLetters = new Map<string, number>();
  const rateLimited = new Map<string, number>();
  for (const [at, minute] of minutes) {
    if (at < first) continue;
    for (const [route, sums] of minute.routes) {
      let into = routes.get(route);
      if (!into) {
        into = { requests: 0, statuses: {}, cache: {}, durations: newHistogram() };
        routes.set(route, into);
      }
      into.requests += sums.requests;
      addCounts(into.statuses, sums.statuses);
      addCounts(into.cache, sums.cache);
      addHistogram(into.durations, sums.durations);
    }
    for (const [queue, sums] of minute.queues) {
      let into = queues.get(queue);
      if (!into) {
        into = emptyQueueSums();
        queues.set(queue, into);
      }
      addQueueSums(into, sums);
    }
    for (const [queue, n] of minute.deadLetters)
      deadLetters.set(queue, (deadLetters.get(queue) ?? 0) + n);
    for (const [key, n] of minute.rateLimited)
      rateLimited.set(key, (rateLimited.get(key) ?? 0) + n);
  }
  return {
    routes: [...routes].map(([route, s]) => ({
      route,
      requests: s.requests,
      statuses: s.statuses,
      cache: s.cache,
      p50Ms: quantileOf(s.durations, 0.5),
      p95Ms: quantileOf(s.durations, 0.95),
    })),
    queues: [...queues].map(([queue, s]) => ({
      queue,
      batches: s.batches,
      events: s.events,
      statements: s.statements,
      retried: s.retried,
      p50Ms: quantileOf(s.durations, 0.5),
      p95Ms: quantileOf(s.durations, 0.95),
      lagSumMs: s.lagSumMs,
      lagEvents: s.lagEvents,
      lagMaxMs: s.lagEvents > 0 ? s.lagMaxMs : null,
    })),
    deadLetters: [...deadLetters].map(([queue, letters]) => ({ queue, letters })),
    rateLimited: [...rateLimited].map(([key, requests]) => {
      const [route = "", limiter = ""] = key.split("\t");
      return { route, limiter, requests };
    }),
  };
}
