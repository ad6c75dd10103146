import { describe, expect, it } from "vitest";
import type { EntryState, PageCursorKey } from "../../../src/domain/leaderboard";
import { makeRandom } from "../../domain/prng";
import { boardPeriod, stubFor } from "./helpers";

describe("LeaderboardDO keyset pagination", () => {
  for (const sortOrder of ["desc", "asc"] as const) {
    it(`walks every page with cursors while scores improve in between (${sortOrder})`, async () => {
      const board = boardPeriod({ sortOrder, topSize: 1000 });
      const stub = stubFor(board);
      const random = makeRandom(sortOrder === "desc" ? 17 : 18);
      const better = (score: number, by: number) =>
        sortOrder === "desc" ? score + by : score - by;
      const state = new Map<string, EntryState>();
      for (let p = 0; p < 150; p += 1) {
        state.set(`p${p}`, {
          playerId: `p${p}`,
          score: random.int(0, 60),
          reachedAt: 1000 + random.int(0, 5),
          version: 1,
        });
      }
      await stub.applyChanges(board, [...state.values()], state.size);

      const seen: string[] = [];
      const changed = new Set<string>();
      let cursor: PageCursorKey | undefined;
      for (let pageNo = 0; pageNo < 100; pageNo += 1) {
        const page = await stub.page({ limit: 20, ...(cursor ? { cursor } : {}) });
        seen.push(...page.entries.map((e) => e.playerId));
        const last = page.entries[page.entries.length - 1];
        if (last === undefined || !page.hasMore) break;
        cursor = { score: last.score, reachedAt: last.reachedAt, playerId: last.playerId };
        // Between pages: some players improve ("best" boards only move up) and newcomers arrive.
        const updates: EntryState[] = [];
        for (let k = 0; k < 8; k += 1) {
          const current = state.get(`p${random.int(0, 149)}`);
          if (current === undefined) continue;
          const next = {
            ...current,
            score: better(current.score, random.int(1, 30)),
            version: current.version + 1,
          };
          state.set(next.playerId, next);
          updates.push(next);
          changed.add(next.playerId);
        }
        const newcomer: EntryState = {
          playerId: `n${pageNo}`,
          score: random.int(0, 90),
          reachedAt: 2000,
          version: 1,
        };
        state.set(newcomer.playerId, newcomer);
        changed.add(newcomer.playerId);
        updates.push(newcomer);
        await stub.applyChanges(board, updates, 1);
      }

      // No row is served twice, and every row that never moved was served.
      expect(new Set(seen).size).toBe(seen.length);
      for (const playerId of state.keys()) {
        if (!changed.has(playerId)) expect(seen).toContain(playerId);
      }
    });
  }

  it("a cursor past the held entries returns an empty page that points to the fallback", async () => {
    const board = boardPeriod({ topSize: 3 });
    const stub = stubFor(board);
    await stub.applyChanges(
      board,
      [5, 4, 3, 2].map((s) => ({ playerId: `p${s}`, score: s, reachedAt: 1, version: 1 })),
      4,
    );
    const page = await stub.page({ limit: 10, cursor: { score: 3, reachedAt: 1, playerId: "p3" } });
    expect(page).toEqual({
      entries: [],
      total: 4,
      complete: true,
      hasMore: true,
      heldCount: 3,
      initialized: true,
      writtenAt: 0,
    });
    const full = await stub.page({ limit: 3 });
    expect(full.hasMore).toBe(true);
    await stub.applyChanges(board, [], 0, { count: 3, at: 1 });
    expect((await stub.page({ limit: 3 })).hasMore).toBe(false);
  });
});
