import {
  createExecutionContext,
  createMessageBatch,
  waitOnExecutionContext,
} from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import type { AppBindings } from "../../../src/env";
import worker from "../../../src/index";
import { counters } from "../../../src/lib/metrics";
import { createBoard, eventId, query, testEnv, uniqueId } from "../../helpers/factories";

/** Redis configured but unreachable: a port nothing listens on. */
const redisDown: AppBindings = {
  ...testEnv,
  UPSTASH_REDIS_REST_URL: `http://127.0.0.1:1/${uniqueId("dead")}`,
  UPSTASH_REDIS_REST_TOKEN: "token",
};
const app = createApp();

async function call(path: string, env: AppBindings) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`), env, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function deliver(env: AppBindings, boardId: string, playerId: string, score: number) {
  const body = {
    kind: "event",
    id: eventId(),
    type: "score",
    playerId,
    boardId,
    score,
    occurredAt: Date.now() - 1000,
    receivedAt: Date.now(),
  };
  const batch = createMessageBatch("edgeboard-score-events", [
    { id: uniqueId("m"), timestamp: new Date(), attempts: 1, body },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("Redis down: the circuit opens and reads stop waiting for it", () => {
  it("after three failures rank reads skip Redis, answer from the object and Postgres, and readiness says so", async () => {
    const board = await createBoard({ periods: ["all"] });
    await deliver(testEnv, board, "p1", 10);
    const before = { ...counters };
    for (let i = 0; i < 6; i++) {
      const res = await call(`/v1/leaderboards/${board}/players/p1`, redisDown);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ playerId: "p1", score: 10, rank: 1 });
    }
    expect(counters.redisFailures - before.redisFailures).toBe(3);
    expect(counters.redisSkipped - before.redisSkipped).toBe(3);

    const ready = await call("/health/ready", redisDown);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: "degraded",
      checks: { redis: { status: "down", circuit: { state: "open", opened: 1 } } },
    });

    // Projections skip the open circuit and queue the board-period for the reconciliation cron.
    const skippedBefore = counters.redisSkipped;
    await deliver(redisDown, board, "p2", 20);
    expect(counters.redisSkipped - skippedBefore).toBe(1);
    const queued = await query(
      sql`select 1 from rank_resync where board_id = ${board} and period_key = 'all'`,
    );
    expect(queued).toHaveLength(1);

    // The cron re-applies the records the skipped write missed to the ready keys (here: the
    // healthy Redis, where the cron had made the board ready); the keys stay ready throughout.
    if (testEnv.UPSTASH_REDIS_REST_URL) {
      const { reconcileRanks } = await import("../../../src/cron/reconcile-ranks");
      const { openDatabase } = await import("../../../src/stores/postgres/client");
      const { rankKeys } = await import("../../../src/stores/redis/keys");
      const { openRedis } = await import("../../../src/stores/redis/client");
      const { rankFromRedis } = await import("../../../src/stores/redis/ranks");
      const redis = openRedis(testEnv);
      if (!redis) throw new Error("no Redis client");
      const handle = openDatabase(testEnv, { maxConnections: 1 });
      try {
        await reconcileRanks(handle.db, redis, testEnv.REDIS_KEY_PREFIX, new Date());
      } finally {
        await handle.close();
      }
      const ready = rankKeys(testEnv.REDIS_KEY_PREFIX, board, "all").ready;
      expect(await redis.exists(ready)).toBe(1);
      expect(
        await rankFromRedis(redis, testEnv.REDIS_KEY_PREFIX, board, "all", "p2"),
      ).toMatchObject({ rank: 1, total: 2 });
      const other = await createBoard({ periods: ["all"] });
      await deliver(testEnv, other, "x1", 1);
      expect(await redis.exists(ready)).toBe(1);
    }

    // The healthy Redis of the same isolate has a circuit of its own, still closed.
    const healthy = await call("/health/ready", testEnv);
    const circuit = (healthy.body.checks as { redis: { circuit?: { state: string } } }).redis
      .circuit;
    if (testEnv.UPSTASH_REDIS_REST_URL) expect(circuit?.state).toBe("closed");
  });
});
