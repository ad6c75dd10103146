import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { DeadLetter } from "../../src/domain/messages";
import worker from "../../src/index";
import { eventId, postEvents, query, testEnv, uniqueId } from "../helpers/factories";

const DLQ = "edgeboard-dead-letters";

async function deliverLetters(bodies: unknown[]) {
  const batch = createMessageBatch(
    DLQ,
    bodies.map((body) => ({ id: uniqueId("dlq-msg"), timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv, ctx);
  return getQueueResult(batch, ctx);
}

function letter(messageId: string, body: unknown): DeadLetter {
  return {
    kind: "dead_letter",
    queue: "edgeboard-score-events",
    messageId,
    attempts: 3,
    error: "database rejected the event: test",
    body,
  };
}

async function pending(messageId: string) {
  return query<{
    body: { json?: string; note?: string; metadata?: { note: string } };
    error: string;
  }>(
    sql`select body, error from dead_letters where message_id = ${messageId} and replayed_at is null`,
  );
}

describe("the dead-letter consumer records every letter before acking it", () => {
  it("keeps a body Postgres cannot store as escaped JSON text, and records its neighbours as they are", async () => {
    const nul = uniqueId("nul");
    const surrogate = uniqueId("surrogate");
    const plain = uniqueId("plain");
    const result = await deliverLetters([
      letter(nul, { kind: "event", metadata: { note: "a\u0000b" } }),
      letter(surrogate, { kind: "event", metadata: { note: "x\uD800y" } }),
      letter(plain, { kind: "event", metadata: { note: "fine" } }),
    ]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(3);
    const [kept] = await pending(nul);
    expect(kept?.error).toMatch(/escaped JSON text/);
    expect(JSON.parse(kept?.body.json ?? "null")).toEqual({
      kind: "event",
      metadata: { note: "a\u0000b" },
    });
    const [lone] = await pending(surrogate);
    expect(JSON.parse(lone?.body.json ?? "null").metadata.note).toBe("x\uD800y");
    expect((await pending(plain))[0]?.body.metadata).toEqual({ note: "fine" });
  });

  it("records a message dead-lettered twice before a replay once, also within one batch", async () => {
    const id = uniqueId("twice");
    await deliverLetters([letter(id, { n: 1 }), letter(id, { n: 1 })]);
    await deliverLetters([letter(id, { n: 1 })]);
    expect(await pending(id)).toHaveLength(1);
  });
});

describe("POST /v1/events refuses text Postgres cannot store, per item", () => {
  it("NUL characters, lone surrogates (also in keys) and deep nesting get UNSTORABLE_TEXT; the rest of the batch is accepted", async () => {
    const at = new Date().toISOString();
    const base = { type: "level_up", playerId: "p1", occurredAt: at };
    let deep: unknown = "leaf";
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const res = await postEvents([
      { ...base, id: eventId(), metadata: { note: "a\u0000b" } },
      { ...base, id: eventId(), payload: { list: ["ok", "x\uDC00"] } },
      { ...base, id: eventId(), payload: { "k\u0000": 1 } },
      { ...base, id: eventId(), displayName: "Nul\u0000Name" },
      { ...base, id: eventId(), payload: { deep } },
      { ...base, id: eventId(), payload: { emoji: "😀 fine" } },
    ]);
    const body = (await res.json()) as {
      accepted: number;
      rejected: Array<{ index: number; error: { code: string; message: string } }>;
    };
    expect(res.status).toBe(202);
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [0, "UNSTORABLE_TEXT"],
      [1, "UNSTORABLE_TEXT"],
      [2, "UNSTORABLE_TEXT"],
      [3, "UNSTORABLE_TEXT"],
      [4, "UNSTORABLE_TEXT"],
    ]);
    expect(body.rejected[0]?.error.message).toContain("metadata.note");
    expect(body.rejected[1]?.error.message).toContain("payload.list[1]");
    expect(body.rejected[4]?.error.message).toContain("nested deeper");
  });
});
