import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { SortOrder } from "../../../src/domain";
import type { BoardPeriod, EntryState } from "../../../src/domain/leaderboard";
import type { LeaderboardDO } from "../../../src/objects/leaderboard/leaderboard-do";
import { createBoard, query } from "../../helpers/factories";
import { boardPeriod, stubFor } from "./helpers";

type Row = {
  playerId: string;
  score: number;
  reachedAt: number;
  version?: number;
  displayName?: string;
};

/** Writes score rows (and players with names) straight into Postgres, as the consumer would. */
async function insertScores(board: BoardPeriod, rows: Row[]): Promise<void> {
  const named = rows.filter((r) => r.displayName !== undefined);
  if (named.length > 0) {
    await query(
      sql`insert into players (id, display_name) values ${sql.join(
        named.map((r) => sql`(${r.playerId}, ${r.displayName ?? null})`),
        sql`, `,
      )} on conflict (id) do update set display_name = excluded.display_name`,
    );
  }
  const sign = board.sortOrder === "desc" ? -1 : 1;
  await query(
    sql`insert into scores (board_id, period_key, player_id, score, sort_score, reached_at, version, metadata) values ${sql.join(
      rows.map(
        (r) =>
          sql`(${board.boardId}, ${board.periodKey}, ${r.playerId}, ${r.score}, ${sign * r.score}, ${new Date(r.reachedAt).toISOString()}::timestamptz, ${r.version ?? 1}, ${JSON.stringify({ n: r.score })}::jsonb)`,
      ),
      sql`, `,
    )}`,
  );
}

/** Postgres's own order for the board-period: the ground truth a rebuilt object must match. */
async function postgresTop(
  board: BoardPeriod,
): Promise<Array<{ rank: number; playerId: string; score: number }>> {
  const rows = await query<{ player_id: string; score: string }>(
    sql`select player_id, score from scores where board_id = ${board.boardId} and period_key = ${board.periodKey}
        order by sort_score, reached_at, player_id limit ${board.topSize}`,
  );
  return rows.map((r, i) => ({ rank: i + 1, playerId: r.player_id, score: Number(r.score) }));
}

async function postgresBoard(sortOrder: SortOrder, topSize: number): Promise<BoardPeriod> {
  return boardPeriod({ boardId: await createBoard({ sortOrder }), sortOrder, topSize });
}

const T0 = Date.parse("2026-11-20T10:00:00.000Z");

/** Ties on score and on reachedAt, and ids whose order differs between "C" and locale collation. */
function sampleRows(count: number): Row[] {
  const ids = [
    "alice",
    "Bob",
    "bob",
    "Zed",
    "_under",
    "p10",
    "p2",
    "p1",
    "a-b",
    "ab",
    "A",
    "zz",
    "m",
  ];
  return ids.slice(0, count).map((playerId, i) => ({
    playerId,
    score: 100 - (i % 4) * 10,
    reachedAt: T0 + (i % 3) * 1000,
    version: 1 + (i % 2),
    displayName: i % 2 === 0 ? `Name ${playerId}` : undefined,
  }));
}

describe("LeaderboardDO rebuild from Postgres", () => {
  for (const sortOrder of ["desc", "asc"] as const) {
    it(`loads the top-N and the count in Postgres order (${sortOrder})`, async () => {
      const board = await postgresBoard(sortOrder, 8);
      const rows = sampleRows(13);
      await insertScores(board, rows);
      const stub = stubFor(board);
      expect(await stub.rebuild(board)).toEqual({ loaded: 8, total: 13 });
      const page = await stub.page({ limit: 100 });
      expect(
        page.entries.map((e) => ({ rank: e.rank, playerId: e.playerId, score: e.score })),
      ).toEqual(await postgresTop(board));
      expect(page).toMatchObject({ complete: true, total: 13, heldCount: 8, hasMore: true });
      for (const entry of page.entries) {
        const row = rows.find((r) => r.playerId === entry.playerId);
        expect(entry.reachedAt).toBe(row?.reachedAt);
        expect(entry.displayName).toBe(row?.displayName ?? null);
        expect(entry.metadata).toEqual({ n: row?.score });
      }
      const versions = rows
        .filter((r) => page.entries.some((e) => e.playerId === r.playerId))
        .reduce((sum, r) => sum + (r.version ?? 1), 0);
      expect((await stub.stats()).versionSum).toBe(versions);
    });
  }

  it("replaces what was held, and an empty board-period rebuilds to empty", async () => {
    const board = await postgresBoard("desc", 5);
    const stub = stubFor(board);
    await stub.applyChanges(
      board,
      [{ playerId: "ghost", score: 999, reachedAt: T0, version: 9 }],
      1,
    );
    expect(await stub.rebuild(board)).toEqual({ loaded: 0, total: 0 });
    expect(await stub.page({ limit: 10 })).toMatchObject({
      entries: [],
      total: 0,
      complete: true,
      hasMore: false,
    });
  });

  it("a top player getting worse makes the set incomplete until the alarm rebuilds it", async () => {
    const board = await postgresBoard("desc", 5);
    const rows: Row[] = [90, 80, 70, 60, 50, 40, 30, 20].map((score, i) => ({
      playerId: `p${i}`,
      score,
      reachedAt: T0,
    }));
    await insertScores(board, rows);
    const stub = stubFor(board);
    const states: EntryState[] = rows.map((r) => ({
      playerId: r.playerId,
      score: r.score,
      reachedAt: r.reachedAt,
      version: 1,
    }));
    await stub.applyChanges(board, states, rows.length);
    expect((await stub.page({ limit: 10 })).entries.map((e) => e.playerId)).toEqual([
      "p0",
      "p1",
      "p2",
      "p3",
      "p4",
    ]);

    // p0 (a latest board) drops to 10: below p5, whom the object does not hold.
    await query(
      sql`update scores set score = 10, sort_score = -10, version = 2 where board_id = ${board.boardId} and player_id = 'p0'`,
    );
    const result = await stub.applyChanges(
      board,
      [{ playerId: "p0", score: 10, reachedAt: T0 + 5, version: 2 }],
      0,
    );
    expect(result).toMatchObject({ applied: 1, topChanged: true });
    const incomplete = await stub.page({ limit: 10 });
    expect(incomplete.complete).toBe(false);
    // What is held is still ranked exactly; the unknown 5th place is left out.
    expect(incomplete.entries.map((e) => [e.rank, e.playerId])).toEqual([
      [1, "p1"],
      [2, "p2"],
      [3, "p3"],
      [4, "p4"],
    ]);
    expect(incomplete.hasMore).toBe(true);
    expect(await stub.rankOf("p0")).toBeNull();
    expect((await stub.rankForScore(45)).withinTop).toBe(false);
    const alarm = await runInDurableObject(stub, (_instance: LeaderboardDO, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).not.toBeNull();

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rebuilt = await stub.page({ limit: 10 });
    expect(rebuilt.complete).toBe(true);
    expect(
      rebuilt.entries.map((e) => ({ rank: e.rank, playerId: e.playerId, score: e.score })),
    ).toEqual(await postgresTop(board));
    expect(rebuilt.entries.map((e) => e.playerId)).toEqual(["p1", "p2", "p3", "p4", "p5"]);
    expect((await stub.stats()).lastRebuildAt).not.toBeNull();

    // Alarms are at-least-once: running the rebuild again changes nothing.
    await stub.rebuild(board);
    expect(await stub.page({ limit: 10 })).toEqual(rebuilt);
    // A late redelivery of p0's old state cannot bring back its old score.
    expect(await stub.applyChanges(board, [states[0] as EntryState], 0)).toMatchObject({
      applied: 0,
    });
    expect(await stub.rankOf("p0")).toBeNull();
  });

  it("changes that arrive while the rebuild reads Postgres are kept", async () => {
    const board = await postgresBoard("desc", 3);
    await insertScores(board, [
      { playerId: "a", score: 30, reachedAt: T0 },
      { playerId: "b", score: 20, reachedAt: T0 },
      { playerId: "c", score: 10, reachedAt: T0 },
    ]);
    const stub = stubFor(board);
    // Both calls run in the object concurrently: the change lands while the rebuild awaits.
    const [rebuilt, applied] = await Promise.all([
      stub.rebuild(board),
      stub.applyChanges(board, [{ playerId: "d", score: 99, reachedAt: T0, version: 1 }], 1),
    ]);
    expect(rebuilt.loaded).toBe(3);
    expect(applied.applied).toBe(1);
    expect((await stub.page({ limit: 10 })).entries.map((e) => e.playerId)).toEqual([
      "d",
      "a",
      "b",
    ]);
  });

  it("a new object told that Postgres holds more records than its first changes starts empty and rebuilds", async () => {
    const board = await postgresBoard("desc", 3);
    const rows = sampleRows(6);
    await insertScores(board, rows);
    const last = rows[5] as Row;
    // Its storage was lost, say: the first call it sees carries one record, and Postgres' count.
    const result = await stubFor(board).applyChanges(
      board,
      [{ playerId: last.playerId, score: last.score, reachedAt: last.reachedAt, version: 1 }],
      0,
      {
        count: rows.length,
        at: 1,
      },
    );
    expect(result).toEqual({
      applied: 0,
      topChanged: false,
      total: rows.length,
      previousWrittenAt: 0,
    });
    const behind = await stubFor(board).page({ limit: 10 });
    // Nothing to vouch for: the read path continues past the object (Redis, Postgres) meanwhile.
    expect(behind).toMatchObject({
      entries: [],
      complete: false,
      hasMore: true,
      total: rows.length,
      initialized: true,
    });
    expect(await runDurableObjectAlarm(stubFor(board))).toBe(true);
    const rebuilt = await stubFor(board).page({ limit: 10 });
    expect(rebuilt.complete).toBe(true);
    expect(
      rebuilt.entries.map((e) => ({ rank: e.rank, playerId: e.playerId, score: e.score })),
    ).toEqual(await postgresTop(board));
  });

  it("a new object whose first changes are all Postgres holds starts from them, with no rebuild", async () => {
    const board = boardPeriod();
    const changes: EntryState[] = [1, 2].map((n) => ({
      playerId: `n${n}`,
      score: n,
      reachedAt: 1,
      version: 1,
    }));
    expect(await stubFor(board).applyChanges(board, changes, 2, { count: 2, at: 1 })).toMatchObject(
      { applied: 2, total: 2 },
    );
    expect((await stubFor(board).page({ limit: 10 })).complete).toBe(true);
    expect(
      await runInDurableObject(stubFor(board), (_instance: LeaderboardDO, state) =>
        state.storage.getAlarm(),
      ),
    ).toBeNull();
  });
});
