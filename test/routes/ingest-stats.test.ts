import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppBindings } from "../../src/env";
import worker from "../../src/index";
import { openDatabase } from "../../src/stores/postgres/client";
import { ADMIN, eventId, uniqueId } from "../helpers/factories";
import { type OwnDatabase, ownDatabase } from "../helpers/own-database";

const iso = () => new Date().toISOString();

// The counters are per hour and queue, for the whole deployment: other files' traffic would land
// in the same rows. So the whole path runs on a database of its own: POST /v1/events (its queue
// sends captured), the real consumer on exactly those messages, then GET /v1/admin/ingest/stats.
describe("ingest stats count exactly what went through (a database of its own; real Postgres only)", () => {
  let own: OwnDatabase | null;
  const sent: Array<{ queue: string; body: unknown }> = [];
  let env: AppBindings;
  beforeAll(async () => {
    own = await ownDatabase("ingest_stats");
    if (!own) return;
    const capture = (queue: string) =>
      ({
        send: async (body: unknown) => {
          sent.push({ queue, body });
        },
        sendBatch: async (messages: Iterable<{ body: unknown }>) => {
          for (const m of messages) sent.push({ queue, body: m.body });
        },
      }) as unknown as Queue;
    env = {
      ...own.env,
      SCORE_EVENTS: capture("edgeboard-score-events"),
      ANALYTICS_EVENTS: capture("edgeboard-analytics-events"),
    };
  });
  afterAll(async () => {
    await own?.drop();
  });

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`http://edge.test${path}`, init), env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  /** POSTs `events`; returns the queue messages it sent, in one batch per queue. */
  async function post(events: unknown[], accepted: number, rejected: number) {
    sent.length = 0;
    const res = await call("/v1/events", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ events }),
    });
    const body = (await res.json()) as { accepted: number; rejected: unknown[] };
    expect(body.accepted).toBe(accepted);
    expect(body.rejected).toHaveLength(rejected);
    return [...sent];
  }

  /** Delivers the messages to the real consumer, one batch per queue, once each. */
  async function consume(messages: Array<{ queue: string; body: unknown }>) {
    for (const queue of new Set(messages.map((m) => m.queue))) {
      const batch = createMessageBatch(
        queue,
        messages
          .filter((m) => m.queue === queue)
          .map((m, i) => ({
            id: uniqueId(`stats-${i}`),
            timestamp: new Date(),
            attempts: 1,
            body: m.body,
          })),
      );
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.retryMessages).toEqual([]);
      expect(result.explicitAcks).toHaveLength(batch.messages.length);
    }
  }

  it("persisted, duplicates (in a batch and redelivered), edge refusals and out-of-bounds refusals", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const res = await call("/v1/admin/boards", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id: "stats-board",
        name: "Stats",
        periods: ["all"],
        operator: "best",
        minScore: 0,
        maxScore: 1000,
        scoreOverflow: "reject",
      }),
    });
    expect(res.status).toBe(201);
    const score = (id: string, playerId: string, value: number) => ({
      id,
      type: "score",
      playerId,
      occurredAt: iso(),
      boardId: "stats-board",
      score: value,
    });
    const [e1, e2, e3, e4, o1, o2, e5] = Array.from({ length: 7 }, () => eventId());
    const first = await post(
      [
        score(e1 as string, "p1", 10),
        score(e2 as string, "p2", 20),
        score(e3 as string, "p3", 30),
        score(e4 as string, "p4", 40),
        score(o1 as string, "p5", 600),
        score(o2 as string, "p6", 700),
        score(e1 as string, "p1", 10), // the same id twice in one request
        score(eventId(), "p7", 5000), // refused at the edge: above maxScore
        { id: eventId(), type: "score", occurredAt: iso(), boardId: "stats-board", score: 1 }, // no playerId
      ],
      7,
      2,
    );
    expect(first.map((m) => m.queue)).toEqual(["edgeboard-score-events"]);
    // The board's bounds narrow after o1 and o2 were accepted: the consumer refuses them.
    const handle = openDatabase(env, { maxConnections: 1 });
    try {
      await handle.db.execute(sql`update boards set max_score = 500 where id = 'stats-board'`);
    } finally {
      await handle.close();
    }
    await consume(first);
    // A client retry: e2 and e3 again, with one new event.
    const second = await post(
      [score(e2 as string, "p2", 20), score(e3 as string, "p3", 30), score(e5 as string, "p8", 50)],
      3,
      0,
    );
    await consume(second);

    const stats = await call("/v1/admin/ingest/stats", { headers: ADMIN });
    expect(stats.status).toBe(200);
    const body = (await stats.json()) as {
      queues: Array<Record<string, unknown>>;
      recentRefusals: Array<{ eventId: string; code: string }>;
    };
    expect(
      body.queues.map(
        ({ queue, persisted, duplicates, rejected, outOfRange, accepted, batches }) => ({
          queue,
          persisted,
          duplicates,
          rejected,
          outOfRange,
          accepted,
          batches,
        }),
      ),
    ).toEqual([
      {
        queue: "scores",
        // e1-e5, o1, o2: every new id is stored, the refused ones too.
        persisted: 7,
        // e1's copy in the first batch, e2 and e3 in the second.
        duplicates: 3,
        rejected: 2,
        outOfRange: 2,
        accepted: 10,
        batches: 2,
      },
    ]);
    expect(body.recentRefusals.map((r) => [r.eventId, r.code]).sort()).toEqual(
      [o1, o2].sort().map((id) => [id, "SCORE_OUT_OF_RANGE"]),
    );
  });
});
