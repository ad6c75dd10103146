import { describe, expect, it } from "vitest";
import type { IngestReply } from "../helpers/factories";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  scoreRows,
  testEnv,
} from "../helpers/factories";

const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString();

describe("POST /v1/events", () => {
  it("accepts one event and makes its score visible through the queue and the consumer", async () => {
    const board = await createBoard();
    const res = await postEvents({
      id: eventId(),
      type: "game_ended",
      playerId: "solo",
      occurredAt: iso(),
      boardId: board,
      score: 1234,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, rejected: [] });
    const standing = await eventually(
      async () => {
        const r = await api(`/v1/leaderboards/${board}/players/solo`);
        return r.status === 200
          ? ((await r.json()) as { score: number; rank: number; total: number })
          : undefined;
      },
      15_000,
      "the score to land",
    );
    expect(standing).toMatchObject({ score: 1234, rank: 1, total: 1 });
  });

  it("judges each item of a batch on its own: valid ones are accepted, bad ones rejected with a reason", async () => {
    const board = await createBoard({ maxScore: 1000 });
    const res = await postEvents([
      {
        id: eventId(),
        type: "game_ended",
        playerId: "ok1",
        occurredAt: iso(),
        boardId: board,
        score: 10,
      },
      {
        id: "not-an-id",
        type: "game_ended",
        playerId: "x",
        occurredAt: iso(),
        boardId: board,
        score: 10,
      },
      {
        id: eventId(),
        type: "game_ended",
        playerId: "x",
        occurredAt: iso(),
        boardId: "no-such-board",
        score: 10,
      },
      {
        id: eventId(),
        type: "game_ended",
        playerId: "x",
        occurredAt: iso(),
        boardId: board,
        score: 5000,
      },
      {
        id: eventId(),
        type: "game_ended",
        playerId: "x",
        occurredAt: iso(),
        boardId: board,
        score: 1.5,
      },
      {
        id: eventId(),
        type: "game_ended",
        playerId: "x",
        occurredAt: iso(8 * 86_400_000),
        boardId: board,
        score: 1,
      },
      {
        id: eventId(),
        type: "game_ended",
        playerId: "x",
        occurredAt: iso(-3_600_000),
        boardId: board,
        score: 1,
      },
      { id: eventId(), type: "game_ended", playerId: "x", occurredAt: iso() },
      {
        id: eventId(),
        type: "level_up",
        playerId: "ok2",
        occurredAt: iso(),
        payload: { level: 3 },
      },
      {
        id: eventId(),
        type: "level_up",
        playerId: "x",
        occurredAt: iso(),
        payload: { blob: "x".repeat(9000) },
      },
      {
        id: eventId(),
        type: "game_ended",
        playerId: "x",
        occurredAt: iso(),
        boardId: board,
        score: 1e300,
      },
      "not an object",
    ]);
    expect(res.status).toBe(202);
    const body = (await res.json()) as IngestReply;
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [1, "INVALID_EVENT"],
      [2, "UNKNOWN_BOARD"],
      [3, "SCORE_OUT_OF_RANGE"],
      [4, "INVALID_SCORE"],
      [5, "TOO_OLD"],
      [6, "TOO_FAR_IN_FUTURE"],
      [7, "BOARD_REQUIRED"],
      [9, "PAYLOAD_TOO_LARGE"],
      [10, "SCORE_OUT_OF_RANGE"],
      [11, "INVALID_EVENT"],
    ]);
    for (const r of body.rejected) expect(r.error.message.length).toBeGreaterThan(5);
    const rows = await eventually(async () => {
      const r = await scoreRows(board);
      return r.length ? r : undefined;
    });
    expect(rows.map((r) => r.player_id)).toEqual(["ok1"]);
  });

  it("accepts a batch of exactly the limit in full, and every event lands", async () => {
    const board = await createBoard();
    const max = Number(testEnv.EVENTS_MAX_BATCH);
    const events = Array.from({ length: max }, (_, i) => ({
      id: eventId(),
      type: "score",
      playerId: `full${i}`,
      occurredAt: iso(),
      boardId: board,
      score: i,
    }));
    const res = await postEvents(events);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: max, rejected: [] });
    const rows = await eventually(
      async () => {
        const r = await scoreRows(board);
        return r.length === max ? r : undefined;
      },
      20_000,
      `all ${max} scores to land`,
    );
    expect(rows.map((r) => r.score).sort((a, b) => a - b)).toEqual(events.map((e) => e.score));
  });

  it("refuses a batch over the limit with 413 naming the limit, and enqueues nothing", async () => {
    const board = await createBoard();
    const max = Number(testEnv.EVENTS_MAX_BATCH);
    const events = Array.from({ length: max + 1 }, (_, i) => ({
      id: eventId(),
      type: "score",
      playerId: `p${i}`,
      occurredAt: iso(),
      boardId: board,
      score: i,
    }));
    const res = await postEvents(events);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string; limit: number } };
    expect(body.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(body.error.limit).toBe(max);
    expect(body.error.message).toContain(String(max));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await scoreRows(board)).toEqual([]);
  });

  it("answers a malformed body with 400 and the error shape", async () => {
    for (const body of [
      "{not json",
      "[]",
      "42",
      JSON.stringify({ events: [] }),
      JSON.stringify({ events: "x" }),
    ]) {
      const res = await api("/v1/events", { method: "POST", headers: ADMIN, body });
      expect(res.status, body).toBe(400);
      const json = (await res.json()) as {
        error: { code: string; message: string; requestId: string };
      };
      expect(json.error.code).toBe("BAD_REQUEST");
      expect(json.error.requestId).toBeTruthy();
    }
  });

  it("documents its request body (one event, or a batch) in the OpenAPI document, with its access", async () => {
    type Doc = {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }>
      >;
      components: { schemas: Record<string, { anyOf?: unknown[]; required?: string[] }> };
    };
    const doc = (await (await api("/openapi.json")).json()) as Doc;
    const operation = doc.paths["/v1/events"]?.post;
    expect(operation?.requestBody?.content["application/json"]?.schema.$ref).toBe(
      "#/components/schemas/IngestRequest",
    );
    expect(operation).toHaveProperty("x-edgeboard-access", {
      credential: "event-write",
      rateLimit: "write",
    });
    expect(doc.components.schemas.IngestRequest?.anyOf).toHaveLength(2);
    expect(doc.components.schemas.Event?.required).toEqual([
      "id",
      "type",
      "playerId",
      "occurredAt",
    ]);
  });

  it("counts a client retry of the same events once", async () => {
    const board = await createBoard({ operator: "increment" });
    const events = [1, 2, 3].map((n) => ({
      id: eventId(),
      type: "points",
      playerId: "retrier",
      occurredAt: iso(),
      boardId: board,
      score: n,
    }));
    expect((await postEvents(events)).status).toBe(202);
    expect((await postEvents(events)).status).toBe(202);
    await eventually(async () => ((await scoreRows(board))[0]?.score === 6 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await scoreRows(board))[0]?.score).toBe(6);
  });

  it("packs non-ASCII payloads by their bytes, so every queue message stays under the 128 KB limit", async () => {
    const board = await createBoard({ operator: "increment" });
    // 2,600 three-byte characters: 7.8 KB of payload each, ~470 KB for the request, 60 points.
    const text = "点".repeat(2_600);
    const events = Array.from({ length: 60 }, () => ({
      id: eventId(),
      type: "points",
      playerId: "wide",
      occurredAt: iso(),
      boardId: board,
      score: 1,
      payload: { text },
    }));
    const res = await postEvents(events);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 60, rejected: [] });
    await eventually(
      async () => ((await scoreRows(board))[0]?.score === 60 ? true : undefined),
      20_000,
    );
  });
});

describe("admin ingest routes", () => {
  it("need the admin key", async () => {
    for (const path of ["/v1/admin/dlq", "/v1/admin/ingest/stats"]) {
      const res = await api(path);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
    }
  });

  it("report accepted, duplicate and rejected counts", async () => {
    const board = await createBoard();
    const id = eventId();
    await postEvents([
      { id, type: "score", playerId: "s1", occurredAt: iso(), boardId: board, score: 1 },
      { id: "bad", type: "score", playerId: "s1", occurredAt: iso(), boardId: board, score: 1 },
    ]);
    await postEvents([
      { id, type: "score", playerId: "s1", occurredAt: iso(), boardId: board, score: 1 },
    ]);
    const stats = await eventually(async () => {
      const res = await api("/v1/admin/ingest/stats", { headers: ADMIN });
      const body = (await res.json()) as {
        queues: Array<{
          queue: string;
          persisted: number;
          duplicates: number;
          rejected: number;
          accepted: number;
        }>;
      };
      const scores = body.queues.find((q) => q.queue === "scores");
      const analytics = body.queues.find((q) => q.queue === "analytics");
      return scores && scores.duplicates >= 1 && analytics && analytics.rejected >= 1
        ? body
        : undefined;
    });
    expect(stats.queues.find((q) => q.queue === "scores")?.accepted).toBeGreaterThanOrEqual(2);
  });

  it("replays a valid dead letter onto its queue, where it lands once", async () => {
    const board = await createBoard({ operator: "increment" });
    const { deadLetter } = await import("../../src/queue/dead-letter");
    const event = {
      kind: "event",
      id: eventId(),
      type: "score",
      playerId: "revived",
      occurredAt: Date.now() - 1000,
      receivedAt: Date.now(),
      boardId: board,
      score: 5,
    };
    await deadLetter(testEnv, {
      queue: "edgeboard-score-events",
      messageId: `lost-${event.id}`,
      attempts: 12,
      error: "retries exhausted: test",
      body: event,
    });
    const letter = await eventually(async () => {
      const body = (await (await api("/v1/admin/dlq?limit=1000", { headers: ADMIN })).json()) as {
        deadLetters: Array<{ id: number; messageId: string }>;
      };
      return body.deadLetters.find((d) => d.messageId === `lost-${event.id}`);
    });
    for (let i = 0; i < 2; i++) {
      const replay = await api("/v1/admin/dlq/replay", {
        method: "POST",
        headers: ADMIN,
        body: JSON.stringify({ ids: [letter.id] }),
      });
      expect(await replay.json()).toMatchObject({ replayed: i === 0 ? 1 : 0 });
    }
    await eventually(async () => ((await scoreRows(board))[0]?.score === 5 ? true : undefined));
  });

  it("list dead letters with their error and replay them", async () => {
    const { env } = await import("cloudflare:workers");
    // A message that fails the schema, sent straight to the score queue (as a buggy producer
    // would).
    await (env as typeof testEnv).SCORE_EVENTS.send({ kind: "event", id: eventId(), broken: true });
    const listed = await eventually(async () => {
      const res = await api("/v1/admin/dlq", { headers: ADMIN });
      const body = (await res.json()) as {
        total: number;
        deadLetters: Array<{
          id: number;
          error: string;
          queue: string;
          body: { broken?: boolean };
        }>;
      };
      const letter = body.deadLetters.find((d) => d.body?.broken === true);
      return letter ? letter : undefined;
    });
    expect(listed.error).toMatch(/invalid message/);
    expect(listed.queue).toBe("edgeboard-score-events");
    const replay = await api("/v1/admin/dlq/replay", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ ids: [listed.id] }),
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ replayed: 0, skipped: [{ id: listed.id }] });
  });
});
