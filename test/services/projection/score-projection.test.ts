import { describe, expect, it } from "vitest";
import { boardPeriodKey } from "../../../src/domain/board-period-key";
import { ALL_TIME_KEY } from "../../../src/domain/periods";
import type { ScoreChange } from "../../../src/domain/records";
import { requireBoard } from "../../../src/services/boards";
import { projectScoreChanges } from "../../../src/services/projection/score-projection";
import { leaderboardStub } from "../../../src/stores/objects/leaderboard";
import { openDatabase } from "../../../src/stores/postgres/client";
import { createBoard, testEnv } from "../../helpers/factories";

describe("projecting a batch's changes to the Durable Object", () => {
  it("counts only records the batch created as new players when no exact count came with it", async () => {
    const boardId = await createBoard({ sortOrder: "desc", operator: "best" });
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      const board = await requireBoard(() => handle.db, boardId);
      const boards = new Map([[boardId, board]]);
      const background: Promise<unknown>[] = [];
      const waitUntil = (p: Promise<unknown>) => background.push(p);
      const change = (playerId: string, version: number, changed = true): ScoreChange => ({
        boardId,
        periodKey: ALL_TIME_KEY,
        playerId,
        score: 100 + version,
        reachedAt: Date.UTC(2026, 11, 1) + version,
        version,
        displayName: null,
        metadata: null,
        changed,
      });
      const key = boardPeriodKey(boardId, ALL_TIME_KEY);
      // A first batch with Postgres' exact count: 40 players, two of them held here.
      const exact = new Map([[key, { count: 40, at: Date.now() }]]);
      await projectScoreChanges(testEnv, [change("a", 1), change("b", 1)], boards, {
        waitUntil,
        totals: exact,
      });
      const stub = leaderboardStub(testEnv, boardId, ALL_TIME_KEY);
      expect((await stub.stats()).total).toBe(40);

      // Without a count: one new player (version 1, written now), one improving (version 2), one
      // redelivered first write (version 1, not changed by this batch): 41 players.
      const outcome = await projectScoreChanges(
        testEnv,
        [change("c", 1), change("a", 2), change("b", 1, false)],
        boards,
        { waitUntil },
      );
      expect(outcome).toEqual({ unprojectable: [], failed: [] });
      expect((await stub.stats()).total).toBe(41);
      await Promise.allSettled(background);
    } finally {
      await handle.close();
    }
  });
});
