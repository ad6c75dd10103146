import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import worker from "../../src/index";
import { readLocalWindow } from "../../src/stores/metrics/local-sink";
import { ADMIN, api, createBoard, eventId, testEnv, uniqueId } from "../helpers/factories";

/**
 * The data points every request, batch, dead letter and rate-limit refusal writes, read back
 * from the local sink (this isolate's per-minute sums) and through GET /v1/admin/metrics.
 */
const PAGE = "GET /v1/leaderboards/{board}";
const app = createApp();

const routeFigures = (route: string) =>
  readLocalWindow(300).routes.find((r) => r.route === route) ?? {
    requests: 0,
    statuses: {} as Record<string, number>,
    cache: {} as Record<string, number>,
  };

async function callWith(env: AppBindings, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a request", () => {
  it("writes one data point with its route, status and page-cache outcome", async () => {
    const board = await createBoard();
    const before = routeFigures(PAGE);
    const first = await api(`/v1/leaderboards/${board}`);
    await first.arrayBuffer();
    const after = routeFigures(PAGE);
    expect(after.requests - before.requests).toBe(1);
    expect((after.statuses["200"] ?? 0) - (before.statuses["200"] ?? 0)).toBe(1);
    const outcome = first.headers.get("x-edge-cache") as string;
    expect(outcome).toMatch(/^(HIT|STALE|MISS|BYPASS)$/);
    expect((after.cache[outcome] ?? 0) - (before.cache[outcome] ?? 0)).toBe(1);

    const missing = await api(`/v1/leaderboards/${uniqueId("nope")}`);
    expect(missing.status).toBe(404);
    expect((routeFigures(PAGE).statuses["404"] ?? 0) - (after.statuses["404"] ?? 0)).toBe(1);
  });

  it("names a path no route matches 'unmatched', never by its path", async () => {
    const before = routeFigures("unmatched").requests;
    expect((await api(`/v1/${uniqueId("no-such-route")}`)).status).toBe(404);
    expect(routeFigures("unmatched").requests - before).toBe(1);
    expect(readLocalWindow(300).routes.some((r) => r.route.includes("no-such-route"))).toBe(false);
  });

  it("logs one JSON line with its request id at LOG_LEVEL info, and none at warn", async () => {
    const lines = vi.spyOn(console, "log").mockImplementation(() => {});
    const res = await callWith({ ...testEnv, LOG_LEVEL: "info" }, "/health");
    const logged = lines.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(logged).toEqual([
      expect.objectContaining({
        level: "info",
        message: "request",
        requestId: res.headers.get("x-request-id"),
        route: "GET /health",
        status: 200,
        outcome: "ok",
        ms: expect.any(Number),
      }),
    ]);
    lines.mockClear();
    await callWith(testEnv, "/health");
    expect(lines).not.toHaveBeenCalled();
  });

  it("writes nothing when METRICS_ENABLED is false (how its cost is measured)", async () => {
    const lines = vi.spyOn(console, "log").mockImplementation(() => {});
    const before = routeFigures("GET /health").requests;
    await callWith({ ...testEnv, METRICS_ENABLED: "false", LOG_LEVEL: "info" }, "/health");
    expect(routeFigures("GET /health").requests).toBe(before);
    expect(lines).not.toHaveBeenCalled();
  });

  it("refused by a rate limit, also writes a rate_limited point naming the route and budget", async () => {
    const spent = { limit: async () => ({ success: false }) };
    const res = await callWith(
      { ...testEnv, RATE_LIMIT_ADMIN_IP: spent } as AppBindings,
      "/v1/admin/metrics",
      { headers: ADMIN },
    );
    expect(res.status).toBe(429);
    expect(readLocalWindow(300).rateLimited).toContainEqual({
      route: "GET /v1/admin/metrics",
      limiter: "address",
      requests: expect.any(Number),
    });
  });
});

describe("a queue batch", () => {
  it("writes one data point with its size, statements and lag", async () => {
    const board = await createBoard();
    // A queue of this file's own (the consumer knows it by its suffix): its sums are this batch's.
    const queue = `${uniqueId("metrics")}-score-events`;
    const receivedAt = Date.now() - 5_000;
    const batch = createMessageBatch(queue, [
      {
        id: uniqueId("msg"),
        timestamp: new Date(),
        attempts: 1,
        body: {
          kind: "events",
          events: [1, 2, 3].map((n) => ({
            id: eventId(),
            type: "score",
            playerId: `metrics-p${n}`,
            boardId: board,
            score: n,
            occurredAt: receivedAt,
            receivedAt,
          })),
        },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(1);
    const figures = readLocalWindow(300).queues.filter((q) => q.queue === queue);
    expect(figures).toEqual([
      expect.objectContaining({ queue, batches: 1, events: 3, retried: 0, lagEvents: 3 }),
    ]);
    expect(figures[0]?.statements).toBeGreaterThan(0);
    expect(figures[0]?.lagMaxMs).toBeGreaterThanOrEqual(5_000);
  });

  it("of dead letters writes their arrival, per queue they died on", async () => {
    const origin = `${uniqueId("metrics")}-score-events`;
    const batch = createMessageBatch("edgeboard-dead-letters", [
      {
        id: uniqueId("dlq-msg"),
        timestamp: new Date(),
        attempts: 1,
        body: {
          kind: "dead_letter",
          queue: origin,
          messageId: uniqueId("dead"),
          attempts: 12,
          error: "test: metrics",
          body: { kind: "events", events: [] },
        },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv, ctx);
    await getQueueResult(batch, ctx);
    expect(readLocalWindow(300).deadLetters).toContainEqual({ queue: origin, letters: 1 });
  });
});

describe("GET /v1/admin/metrics", () => {
  it("answers the window's figures from the local sink next to the isolate's counters", async () => {
    const board = await createBoard();
    for (let i = 0; i < 3; i++) await (await api(`/v1/leaderboards/${board}`)).arrayBuffer();
    const res = await api("/v1/admin/metrics?window=1h", { headers: ADMIN });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown> & {
      window: {
        window: string;
        seconds: number;
        source: string;
        available: boolean;
        requests: { total: number; perSecond: number };
        routes: Array<{
          route: string;
          requests: number;
          perSecond: number;
          cacheHitRatio: number | null;
          p50Ms: number | null;
          p95Ms: number | null;
        }>;
      };
    };
    expect(typeof body.cacheHit).toBe("number");
    expect(typeof body.jobsUnknown).toBe("number");
    const window = body.window;
    expect(window).toMatchObject({ window: "1h", seconds: 3600, source: "local", available: true });
    const page = window.routes.find((r) => r.route === PAGE);
    expect(page?.requests).toBeGreaterThanOrEqual(3);
    expect(page?.perSecond).toBeCloseTo((page?.requests ?? 0) / 3600, 3);
    expect(page?.cacheHitRatio).toBeGreaterThan(0);
    expect(page?.cacheHitRatio).toBeLessThanOrEqual(1);
    expect(page?.p50Ms).toEqual(expect.any(Number));
    expect(page?.p95Ms).toBeGreaterThanOrEqual(page?.p50Ms ?? 0);
    expect(window.requests.total).toBeGreaterThanOrEqual(page?.requests ?? 0);
  });

  it("reports consumer lag per queue", async () => {
    const res = await api("/v1/admin/metrics", { headers: ADMIN });
    const { window } = (await res.json()) as {
      window: { window: string; queues: Array<{ lagAvgMs: number | null; events: number }> };
    };
    expect(window.window).toBe("5m");
    expect(window.queues.some((q) => q.events > 0 && (q.lagAvgMs ?? 0) >= 5_000)).toBe(true);
  });

  it("refuses an unknown window with a 400 in JSON", async () => {
    const res = await api("/v1/admin/metrics?window=7m", { headers: ADMIN });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("VALIDATION_FAILED");
  });

  it("says why when Analytics Engine is the source but its API token is not configured", async () => {
    const res = await callWith(
      { ...testEnv, METRICS_SINK: "analytics-engine", METRICS_DATASET: "edgeboard_test_metrics" },
      "/v1/admin/metrics?window=24h",
      { headers: ADMIN },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown> & {
      window: { source: string; available: boolean; unavailable: string };
    };
    expect(body.window).toMatchObject({ source: "analytics-engine", available: false });
    expect(body.window.unavailable).toContain("ANALYTICS_ACCOUNT_ID, ANALYTICS_API_TOKEN");
    expect(typeof body.cacheHit).toBe("number");
  });
});
