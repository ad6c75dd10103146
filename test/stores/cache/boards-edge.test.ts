import { describe, expect, it } from "vitest";
import { STALE_IF_ERROR_MS } from "../../../src/stores/cache/boards";
import { loadThroughEdge } from "../../../src/stores/cache/boards-edge";
import type { Board } from "../../../src/stores/postgres/schema";
import { uniqueId } from "../../helpers/factories";

const board = (id: string, name = id) =>
  ({
    id,
    name,
    createdAt: new Date("2026-01-01T00:00:00Z"),
    updatedAt: new Date("2026-01-01T00:00:00Z"),
  }) as unknown as Board;

/** An origin (Postgres) that answers with `boards`, counting its calls. */
function origin(boards: (ids: string[]) => Board[]) {
  const calls: string[][] = [];
  return {
    calls,
    load: async (ids: string[]) => {
      calls.push(ids);
      return boards(ids);
    },
  };
}

const down = async (): Promise<Board[]> => {
  throw new Error("could not reach Postgres at 127.0.0.1:1");
};

describe("board definitions in the PoP's Cache API", () => {
  it("are fresh for a minute, then asked of Postgres again and stored with the time Postgres gave them", async () => {
    const id = uniqueId("edge-board");
    const t0 = Date.now();
    const first = origin((ids) => ids.map((i) => board(i, "v1")));
    expect(
      (await loadThroughEdge([id], first.load, t0)).boards.map((b) => [b.board.name, b.producedAt]),
    ).toEqual([["v1", t0]]);
    expect(first.calls).toHaveLength(1);

    const fresh = origin(() => []);
    const hit = await loadThroughEdge([id], fresh.load, t0 + 59_000);
    expect(
      hit.boards.map((b) => [b.board.name, b.producedAt, b.board.createdAt instanceof Date]),
    ).toEqual([["v1", t0, true]]);
    expect(fresh.calls).toHaveLength(0);

    const second = origin((ids) => ids.map((i) => board(i, "v2")));
    const reloaded = await loadThroughEdge([id], second.load, t0 + 61_000);
    expect(reloaded.boards.map((b) => [b.board.name, b.producedAt])).toEqual([["v2", t0 + 61_000]]);
    expect(reloaded.failed).toBeUndefined();
  });

  it("serve their copy when Postgres cannot be reached, within the stale-if-error bound only", async () => {
    const id = uniqueId("edge-board");
    const t0 = Date.now();
    await loadThroughEdge([id], origin((ids) => ids.map((i) => board(i, "v1"))).load, t0);

    const later = await loadThroughEdge([id], down, t0 + 3 * 3_600_000);
    expect(later.boards.map((b) => [b.board.name, b.producedAt])).toEqual([["v1", t0]]);
    expect(later.failed?.ids).toEqual([id]);

    const tooLate = await loadThroughEdge([id], down, t0 + STALE_IF_ERROR_MS + 1_000);
    expect(tooLate.boards).toEqual([]);
    expect(tooLate.failed?.ids).toEqual([id]);
    expect(String(tooLate.failed?.error)).toContain("could not reach Postgres");
  });

  it("drop the copy of a board Postgres no longer has", async () => {
    const id = uniqueId("edge-board");
    const t0 = Date.now();
    await loadThroughEdge([id], origin((ids) => ids.map((i) => board(i))).load, t0);
    const gone = await loadThroughEdge([id], origin(() => []).load, t0 + 61_000);
    expect(gone.boards).toEqual([]);
    const outage = await loadThroughEdge([id], down, t0 + 62_000);
    expect(outage.boards).toEqual([]);
  });
});
