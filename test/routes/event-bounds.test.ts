import { describe, expect, it } from "vitest";
import { api, createBoard, eventId, eventually, postEvents, uniqueId } from "../helpers/factories";

type IngestReply = {
  accepted: number;
  rejected: Array<{ index: number; error: { code: string; message: string } }>;
};

const utf8 = new TextEncoder();
const bytes = (value: unknown) => utf8.encode(JSON.stringify(value)).byteLength;

/** An object whose JSON is exactly `size` bytes (ASCII, so bytes are characters). */
function metadataOfBytes(size: number): Record<string, unknown> {
  const metadata = { note: "x".repeat(size - bytes({ note: "" })) };
  expect(bytes(metadata)).toBe(size);
  return metadata;
}

/**
 * Player ids of this file's events: display names are global per player, so no other test may share
 * them.
 */
const players = Array.from({ length: 20 }, () => uniqueId("bounds"));

async function judge(board: string, fields: Array<Record<string, unknown>>): Promise<IngestReply> {
  const at = new Date().toISOString();
  const res = await postEvents(
    fields.map((f, i) => ({
      id: eventId(),
      type: "score",
      playerId: players[i],
      occurredAt: at,
      boardId: board,
      score: i,
      ...f,
    })),
  );
  expect(res.status).toBe(202);
  return (await res.json()) as IngestReply;
}

const codes = (reply: IngestReply) => reply.rejected.map((r) => [r.index, r.error.code]);

describe("displayName: 1-32 characters after trimming, nothing that changes how a page renders", () => {
  it("accepts exactly 32 characters (counted as code points, trimmed) and refuses 33", async () => {
    const board = await createBoard();
    const reply = await judge(board, [
      { displayName: "n".repeat(32) },
      { displayName: `  ${"n".repeat(32)}\t` },
      { displayName: "😀".repeat(32) },
      { displayName: "Zoë 山田 ü" },
      { displayName: "n".repeat(33) },
      { displayName: "😀".repeat(33) },
      { displayName: "" },
      { displayName: "   " },
    ]);
    expect(reply.accepted).toBe(4);
    expect(codes(reply)).toEqual([
      [4, "INVALID_EVENT"],
      [5, "INVALID_EVENT"],
      [6, "INVALID_EVENT"],
      [7, "INVALID_EVENT"],
    ]);
    for (const r of reply.rejected) expect(r.error.message).toMatch(/^displayName: /);
    // Shown trimmed.
    const page = await eventually(async () => {
      const body = (await (await api(`/v1/leaderboards/${board}`)).json()) as {
        entries: Array<{ playerId: string; displayName?: string }>;
      };
      return body.entries.length === 4 ? body : undefined;
    });
    expect(page.entries.find((e) => e.playerId === players[1])?.displayName).toBe("n".repeat(32));
  });

  it("refuses control characters (C0, DEL, C1), bidi overrides and isolates, and < or >", async () => {
    const board = await createBoard();
    const bad = [
      "a\u0007b",
      "a\u001Fb",
      "a\u007Fb",
      "a\u0085b",
      "a\u009Fb",
      "a\u202Eb",
      "a\u202Ab",
      "a\u2066b",
      "a\u2069b",
      "<b>x</b>",
      "a>b",
      "a<b",
    ];
    const reply = await judge(
      board,
      bad.map((displayName) => ({ displayName })),
    );
    expect(reply.accepted).toBe(0);
    expect(reply.rejected.map((r) => r.error.code)).toEqual(bad.map(() => "INVALID_EVENT"));
    for (const r of reply.rejected) expect(r.error.message).toMatch(/^displayName: /);
  });
});

describe("metadata: at most 512 bytes of JSON, 16 keys and 3 levels", () => {
  it("accepts each bound exactly and refuses one over", async () => {
    const board = await createBoard();
    const keys = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    const reply = await judge(board, [
      { metadata: metadataOfBytes(512) },
      { metadata: keys(16) },
      { metadata: { a: { b: { c: 1 } } } },
      { metadata: { a: [[1]] } },
      { metadata: { a: keys(7), b: keys(7) } },
      { metadata: metadataOfBytes(513) },
      { metadata: keys(17) },
      { metadata: { a: { b: { c: { d: 1 } } } } },
      { metadata: { a: [[[1]]] } },
      { metadata: { a: keys(8), b: keys(7) } },
      { metadata: { note: "é".repeat(255) } },
    ]);
    expect(reply.accepted).toBe(5);
    expect(codes(reply)).toEqual([
      [5, "INVALID_EVENT"],
      [6, "INVALID_EVENT"],
      [7, "INVALID_EVENT"],
      [8, "INVALID_EVENT"],
      [9, "INVALID_EVENT"],
      [10, "INVALID_EVENT"],
    ]);
    for (const r of reply.rejected) expect(r.error.message).toMatch(/^metadata: /);
    expect(reply.rejected[0]?.error.message).toContain("513 bytes");
    // Bytes, not characters: 266 characters of JSON, 255 of them two bytes long.
    expect(reply.rejected[5]?.error.message).toContain("521 bytes");
  });

  it("is bounded on its own: an analytics payload keeps its 8 KB, not shared with metadata", async () => {
    const at = new Date().toISOString();
    const payloadOf = (size: number) => ({ blob: "x".repeat(size - bytes({ blob: "" })) });
    const res = await postEvents([
      {
        id: eventId(),
        type: "level_up",
        playerId: players[0],
        occurredAt: at,
        payload: payloadOf(8192),
        metadata: metadataOfBytes(512),
      },
      {
        id: eventId(),
        type: "level_up",
        playerId: players[0],
        occurredAt: at,
        payload: payloadOf(8193),
      },
    ]);
    const reply = (await res.json()) as IngestReply;
    expect(reply.accepted).toBe(1);
    expect(codes(reply)).toEqual([[1, "PAYLOAD_TOO_LARGE"]]);
    expect(reply.rejected[0]?.error.message).toBe(
      "payload is 8193 bytes of JSON; the limit is 8192",
    );
  });
});
