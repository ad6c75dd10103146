import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { IngestReply } from "../helpers/factories";
import {
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  query,
  scoreRows,
  uniqueId,
} from "../helpers/factories";

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

/** Events the batch statement refused (a record out of the board's bounds), by player. */
async function refusedPlayers(board: string): Promise<string[]> {
  const rows = await query<{ player_id: string }>(
    sql`select player_id from score_rejections where board_id = ${board} order by player_id`,
  );
  return rows.map((r) => r.player_id);
}

describe("score: a board's minScore and maxScore are inclusive", () => {
  it("a best score exactly at minScore and at maxScore is accepted and lands; one past either is refused at the edge", async () => {
    const board = await createBoard({ operator: "best", minScore: -50, maxScore: 1000 });
    const [atMin, atMax, below, above] = players;
    const reply = await judge(board, [
      { playerId: atMin, score: -50 },
      { playerId: atMax, score: 1000 },
      { playerId: below, score: -51 },
      { playerId: above, score: 1001 },
    ]);
    expect(reply.accepted).toBe(2);
    expect(reply.rejected).toEqual([
      {
        index: 2,
        error: {
          code: "SCORE_OUT_OF_RANGE",
          message: "score -51 is below this board's minScore -50",
        },
      },
      {
        index: 3,
        error: {
          code: "SCORE_OUT_OF_RANGE",
          message: "score 1001 is above this board's maxScore 1000",
        },
      },
    ]);
    // Both accepted events ride one queue message, so one batch statement writes both or neither:
    // the first row seen means the statement has run.
    const rows = await eventually(
      async () => {
        const r = await scoreRows(board);
        return r.length > 0 ? r : undefined;
      },
      15_000,
      "the batch to land",
    );
    expect(rows.map((r) => [r.player_id, r.score]).sort()).toEqual(
      [
        [atMin, -50],
        [atMax, 1000],
      ].sort(),
    );
    expect(await refusedPlayers(board)).toEqual([]);
  });

  it("an increment record may reach minScore and maxScore exactly, new or held", async () => {
    const board = await createBoard({
      operator: "increment",
      periods: ["all"],
      minScore: 0,
      maxScore: 100,
    });
    const [up, down] = players;
    const scores = async () =>
      Object.fromEntries((await scoreRows(board)).map((r) => [r.player_id, r.score]));
    // New records: steps of one batch summed to exactly the bounds.
    const first = await judge(board, [
      { playerId: up, score: 60 },
      { playerId: up, score: 40 },
      { playerId: down, score: 5 },
      { playerId: down, score: -5 },
    ]);
    expect(first).toEqual({ accepted: 4, rejected: [] });
    await eventually(async () => ((await scoreRows(board)).length > 0 ? true : undefined));
    expect(await scores()).toEqual({ [up as string]: 100, [down as string]: 0 });
    expect(await refusedPlayers(board)).toEqual([]);
    // Held records: one step each, from one bound exactly to the other.
    const second = await judge(board, [
      { playerId: up, score: -100 },
      { playerId: down, score: 100 },
    ]);
    expect(second).toEqual({ accepted: 2, rejected: [] });
    await eventually(
      async () => {
        const now = await scores();
        const refused = await refusedPlayers(board);
        return refused.length > 0 || now[up as string] !== 100 ? true : undefined;
      },
      15_000,
      "the second batch to land",
    );
    expect(await scores()).toEqual({ [up as string]: 0, [down as string]: 100 });
    expect(await refusedPlayers(board)).toEqual([]);
  });
});
