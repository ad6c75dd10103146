import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SORT_ORDERS } from "../../../src/domain";
import type { BoardPeriod, EntryState } from "../../../src/domain/leaderboard";
import { apiEntry } from "../../../src/domain/leaderboard";
import type { LeaderboardDO } from "../../../src/objects/leaderboard/leaderboard-do";
import { makeRandom } from "../../domain/prng";
import { boardPeriod, failure, stubFor } from "./helpers";
import { arbitraryHistory, batches, improvingHistory, ReferenceBoard } from "./reference";

type Stub = ReturnType<typeof stubFor>;

/** Every held entry, through the public page API. */
async function allHeld(stub: Stub) {
  return (await stub.page({ limit: 1000 })).entries;
}

/** Checks page/rankOf/around/rankForScore against the reference's exact top-N. */
async function expectMatchesReference(
  stub: Stub,
  board: BoardPeriod,
  reference: ReferenceBoard,
  seed: number,
) {
  const random = makeRandom(seed);
  const ranked = reference.ranked();
  const expected = ranked.slice(0, board.topSize);
  const page = await stub.page({ limit: 1000 });
  expect(page.entries).toEqual(expected);
  expect(page.complete).toBe(true);
  expect(page.heldCount).toBe(expected.length);

  // A middle page by offset and by cursor.
  if (expected.length > 2) {
    const from = random.int(0, expected.length - 2);
    const after = expected[from];
    if (after === undefined) throw new Error("unreachable");
    const byCursor = await stub.page({
      limit: 3,
      cursor: { score: after.score, reachedAt: after.reachedAt, playerId: after.playerId },
    });
    expect(byCursor.entries).toEqual(expected.slice(from + 1, from + 4));
    expect((await stub.page({ limit: 3, offset: from })).entries).toEqual(
      expected.slice(from, from + 3),
    );
  }

  // The serialized pages (cached per revision of the top-N) say the same after every batch: a
  // stale cache would show the previous batch's entries here.
  const asApi = (views: typeof expected) => JSON.parse(JSON.stringify(views.map(apiEntry)));
  const json = await stub.pageJson({ limit: 1000 });
  expect(JSON.parse(json.entriesJson)).toEqual(asApi(expected));
  expect(json.count).toBe(expected.length);
  if (expected.length > 3) {
    const slice = await stub.pageJson({ limit: 2, offset: 2 });
    expect(JSON.parse(slice.entriesJson)).toEqual(asApi(expected.slice(2, 4)));
    expect(slice.last).toMatchObject({ rank: 4, playerId: expected[3]?.playerId });
  }

  const several = ranked.slice(0, board.topSize + 3).map((v) => v.playerId);
  const standings = await stub.standingsOf([...several, "nobody"]);
  expect(standings.entries).toEqual(ranked.slice(0, Math.min(board.topSize, several.length)));
  expect(standings.notHeld).toEqual([...several.slice(board.topSize), "nobody"]);

  for (const view of ranked.slice(0, board.topSize + 3)) {
    const rank = await stub.rankOf(view.playerId);
    if (view.rank <= board.topSize) expect(rank?.entry).toEqual(view);
    else expect(rank).toBeNull();
  }

  if (expected.length > 0) {
    const probe = random.pick(expected);
    const n = random.int(0, 3);
    const around = await stub.around(probe.playerId, n);
    expect(around?.entries).toEqual(
      expected.slice(Math.max(0, probe.rank - 1 - n), probe.rank + n),
    );
  }

  for (let k = 0; k < 5; k += 1) {
    const score = random.int(-25, 60);
    const ahead = reference.aheadOfScore(score);
    const result = await stub.rankForScore(score);
    expect(result.withinTop).toBe(ahead < board.topSize);
    if (result.withinTop) expect(result.rank).toBe(ahead + 1);
  }
}

describe("LeaderboardDO against a brute-force reference", () => {
  it("serves the exact top-N for improving histories delivered out of order and repeated", async () => {
    for (const sortOrder of SORT_ORDERS) {
      for (let seed = 1; seed <= 4; seed += 1) {
        const random = makeRandom(seed * 31);
        const board = boardPeriod({ sortOrder, topSize: random.int(5, 20) });
        const stub = stubFor(board);
        const history = improvingHistory(seed, sortOrder, random.int(10, 40), random.int(1, 4));
        const delivery = random.shuffle([...history, ...history.filter(() => random.next() < 0.3)]);
        const reference = new ReferenceBoard(sortOrder);
        for (const [i, batch] of batches(seed, delivery, 15).entries()) {
          await stub.applyChanges(board, batch, 0);
          reference.apply(batch);
          await expectMatchesReference(stub, board, reference, seed * 100 + i);
        }
      }
    }
  });

  it("keeps every held rank exact for arbitrary histories (scores going down)", async () => {
    for (const sortOrder of SORT_ORDERS) {
      const board = boardPeriod({ sortOrder, topSize: 8 });
      const stub = stubFor(board);
      const random = makeRandom(sortOrder === "desc" ? 3 : 4);
      const delivery = random.shuffle(arbitraryHistory(7, 25, 4));
      const reference = new ReferenceBoard(sortOrder);
      for (const batch of batches(9, delivery, 10)) {
        await stub.applyChanges(board, batch, 0);
        reference.apply(batch);
        const page = await stub.page({ limit: 1000 });
        expect(page.entries).toEqual(reference.ranked().slice(0, page.heldCount));
        if (page.complete)
          expect(page.heldCount).toBe(Math.min(board.topSize, reference.latest.size));
      }
    }
  });
});

describe("LeaderboardDO writes", () => {
  it("repeated and reordered applyChanges converge to the same state", async () => {
    const history = improvingHistory(42, "desc", 30, 3);
    const once = boardPeriod({ topSize: 10 });
    const messy = boardPeriod({ topSize: 10 });
    await stubFor(once).applyChanges(once, history, 0);
    const random = makeRandom(42);
    for (let round = 0; round < 4; round += 1) {
      for (const batch of batches(round, random.shuffle(history), 9))
        await stubFor(messy).applyChanges(messy, batch, 0);
    }
    const again = await stubFor(messy).applyChanges(messy, history, 0);
    expect(again).toMatchObject({ applied: 0, topChanged: false });
    expect(await allHeld(stubFor(messy))).toEqual(await allHeld(stubFor(once)));
    const stats = await stubFor(messy).stats();
    expect(stats.versionSum).toBe((await stubFor(once).stats()).versionSum);
  });

  it("counts new players into the total until an exact count corrects it", async () => {
    const board = boardPeriod({ topSize: 2 });
    const stub = stubFor(board);
    const changes: EntryState[] = [1, 2, 3].map((s) => ({
      playerId: `p${s}`,
      score: s,
      reachedAt: 1,
      version: 1,
    }));
    expect(await stub.applyChanges(board, changes, 3)).toEqual({
      applied: 3,
      topChanged: true,
      total: 3,
      previousWrittenAt: 0,
    });
    expect(await stub.applyChanges(board, [], 2)).toMatchObject({ total: 5 });
    const page = await stub.page({ limit: 10 });
    expect(page).toMatchObject({ total: 5, heldCount: 2, hasMore: true, complete: true });
    await stub.applyChanges(board, [], 0, { count: 3, at: 1 });
    expect((await stub.page({ limit: 10 })).total).toBe(3);
    // The total never reports fewer players than are held (percentiles need rank <= total).
    await stub.applyChanges(board, [], 0, { count: 0, at: 2 });
    expect((await stub.rankOf("p3"))?.total).toBe(2);
  });

  it("keeps the newest batch time as its watermark, reports the one before each call, and keeps it across restarts", async () => {
    const board = boardPeriod();
    const stub = stubFor(board);
    const one = (playerId: string, version = 1) => [{ playerId, score: 1, reachedAt: 1, version }];
    expect(await stub.watermark()).toBe(0);
    expect((await stub.applyChanges(board, one("a"), 1, undefined, 5_000)).previousWrittenAt).toBe(
      0,
    );
    expect((await stub.applyChanges(board, one("b"), 1, undefined, 9_000)).previousWrittenAt).toBe(
      5_000,
    );
    // A batch that committed earlier but arrives later never moves it back.
    expect((await stub.applyChanges(board, one("c"), 1, undefined, 7_000)).previousWrittenAt).toBe(
      9_000,
    );
    expect(await stub.watermark()).toBe(9_000);
    // Without a batch time (an older consumer, a test), nothing moves.
    expect((await stub.applyChanges(board, one("d"), 1)).previousWrittenAt).toBe(9_000);
    expect((await stub.stats()).writtenAt).toBe(9_000);
    // Stored: a restarted object (memory reloaded from SQLite) has it still.
    await runInDurableObject(stub, async (_instance, state) => {
      expect(
        state.storage.sql
          .exec<{ value: string }>("select value from meta where key = 'written_at'")
          .one().value,
      ).toBe("9000");
    });
  });

  it("takes the newest exact count it is given, ignores older ones, and adds new players only without one", async () => {
    const board = boardPeriod();
    const stub = stubFor(board);
    const one = (playerId: string, version = 1) => [{ playerId, score: 1, reachedAt: 1, version }];
    expect((await stub.applyChanges(board, one("a"), 1, { count: 10, at: 2_000 })).total).toBe(10);
    // An older count (a projection overtaken by a newer one) changes nothing; nor do its new
    // players.
    expect((await stub.applyChanges(board, one("b"), 1, { count: 7, at: 1_000 })).total).toBe(10);
    expect((await stub.applyChanges(board, one("c"), 1, { count: 12, at: 3_000 })).total).toBe(12);
    // No count (it could not be read): new players are added to the last one.
    expect((await stub.applyChanges(board, one("d"), 2)).total).toBe(14);
    expect(await failure(stub.applyChanges(board, one("e"), 1, { count: -1, at: 5 }))).toMatch(
      /total\.count/,
    );
    expect((await stub.stats()).total).toBe(14);
  });

  it("rejects malformed input without changing anything", async () => {
    const board = boardPeriod({ topSize: 5 });
    const stub = stubFor(board);
    await stub.applyChanges(board, [{ playerId: "a", score: 1, reachedAt: 1, version: 1 }], 1);
    const bad: EntryState[] = [
      { playerId: "b", score: 2, reachedAt: 1, version: 1 },
      { playerId: "c", score: Number.NaN, reachedAt: 1, version: 1 },
    ];
    expect(await failure(stub.applyChanges(board, bad, 1))).toMatch(/score must be a safe integer/);
    expect(await failure(stub.applyChanges({ ...board, topSize: 0 }, [], 0))).toMatch(/topSize/);
    expect(await failure(stub.applyChanges({ ...board, periodKey: "2026-11" }, [], 0))).toMatch(
      /serves/,
    );
    expect(await failure(stub.page({ limit: 0 }))).toMatch(/limit/);
    expect(await failure(stub.page({ limit: 1001 }))).toMatch(/limit/);
    expect((await stub.page({ limit: 10 })).entries.map((e) => e.playerId)).toEqual(["a"]);
    expect((await stub.stats()).total).toBe(1);
  });

  it("adopts a smaller topSize by dropping the tail, a larger one by asking for a rebuild", async () => {
    const board = boardPeriod({ topSize: 4 });
    const stub = stubFor(board);
    await stub.applyChanges(
      board,
      [1, 2, 3, 4, 5].map((s) => ({ playerId: `p${s}`, score: s, reachedAt: 1, version: 1 })),
      5,
    );
    await stub.applyChanges({ ...board, topSize: 2 }, [], 0);
    expect((await stub.page({ limit: 10 })).entries.map((e) => e.playerId)).toEqual(["p5", "p4"]);
    await stub.applyChanges({ ...board, topSize: 3 }, [], 0);
    expect((await stub.page({ limit: 10 })).complete).toBe(false);
    const alarm = await runInDurableObject(stub, (_instance: LeaderboardDO, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).not.toBeNull();
  });
});

describe("LeaderboardDO reads", () => {
  it("around: rank 1 has nobody above, the last held rank nobody below", async () => {
    const board = boardPeriod({ topSize: 6 });
    const stub = stubFor(board);
    await stub.applyChanges(
      board,
      [10, 20, 30, 40, 50, 60, 70].map((s) => ({
        playerId: `s${s}`,
        score: s,
        reachedAt: 1,
        version: 1,
      })),
      7,
    );
    const first = await stub.around("s70", 2);
    expect(first?.entries.map((e) => [e.rank, e.playerId])).toEqual([
      [1, "s70"],
      [2, "s60"],
      [3, "s50"],
    ]);
    const last = await stub.around("s20", 2);
    expect(last?.entries.map((e) => [e.rank, e.playerId])).toEqual([
      [4, "s40"],
      [5, "s30"],
      [6, "s20"],
    ]);
    expect(last?.total).toBe(7);
    expect(await stub.around("s10", 2)).toBeNull();
    expect(await stub.around("nobody", 2)).toBeNull();
    expect((await stub.around("s40", 0))?.entries.map((e) => e.playerId)).toEqual(["s40"]);
  });

  it("rankForScore ranks after equal scores and says when it cannot vouch", async () => {
    const board = boardPeriod({ sortOrder: "asc", topSize: 3 });
    const stub = stubFor(board);
    await stub.applyChanges(board, [], 0);
    expect(await stub.rankForScore(5)).toEqual({ rank: 1, withinTop: true, total: 0 });
    await stub.applyChanges(
      board,
      [
        { playerId: "a", score: 10, reachedAt: 5, version: 1 },
        { playerId: "b", score: 20, reachedAt: 5, version: 1 },
      ],
      2,
    );
    expect(await stub.rankForScore(10)).toMatchObject({ rank: 2, withinTop: true });
    expect(await stub.rankForScore(9)).toMatchObject({ rank: 1, withinTop: true });
    // Not full and complete: every player is held, so even last place is exact.
    expect(await stub.rankForScore(99)).toMatchObject({ rank: 3, withinTop: true });
    await stub.applyChanges(board, [{ playerId: "c", score: 30, reachedAt: 5, version: 1 }], 1);
    expect(await stub.rankForScore(30)).toMatchObject({ rank: 4, withinTop: false });
    expect(await stub.rankForScore(29)).toMatchObject({ rank: 3, withinTop: true });
    // Nothing was written.
    expect((await stub.stats()).held).toBe(3);
  });

  it("serves names and metadata and keeps them across score updates", async () => {
    const board = boardPeriod();
    const stub = stubFor(board);
    await stub.applyChanges(
      board,
      [
        {
          playerId: "a",
          score: 1,
          reachedAt: 1,
          version: 1,
          displayName: "Ann",
          metadata: { hat: "red" },
        },
      ],
      1,
    );
    await stub.applyChanges(board, [{ playerId: "a", score: 5, reachedAt: 2, version: 2 }], 0);
    expect((await stub.rankOf("a"))?.entry).toEqual({
      rank: 1,
      playerId: "a",
      score: 5,
      reachedAt: 2,
      displayName: "Ann",
      metadata: { hat: "red" },
    });
  });
});

describe("LeaderboardDO storage", () => {
  it("comes back from eviction with the same state, versions included", async () => {
    const board = boardPeriod({ topSize: 7 });
    const stub = stubFor(board);
    const history = improvingHistory(8, "desc", 15, 2);
    await stub.applyChanges(board, history, 15);
    const before = await stub.page({ limit: 1000 });
    const statsBefore = await stub.stats();
    await evictDurableObject(stub);
    expect(await stub.page({ limit: 1000 })).toEqual(before);
    const statsAfter = await stub.stats();
    expect({ ...statsAfter, rememberedVersions: 0 }).toEqual({
      ...statsBefore,
      rememberedVersions: 0,
    });
    // The version guard survived for held entries: replaying their states changes nothing.
    const heldIds = new Set(before.entries.map((e) => e.playerId));
    expect(
      await stub.applyChanges(
        board,
        history.filter((c) => heldIds.has(c.playerId)),
        0,
      ),
    ).toMatchObject({ applied: 0, topChanged: false });
    // Versions of players not held are memory-only (see recent-versions.ts); their old states
    // fall below the cut again on a best board, so nothing visible changes.
    expect(await stub.applyChanges(board, history, 0)).toMatchObject({ topChanged: false });
    expect(await stub.page({ limit: 1000 })).toEqual(before);
  });

  it("an incomplete set re-arms its rebuild alarm when it wakes up", async () => {
    const board = boardPeriod({ topSize: 2 });
    const stub = stubFor(board);
    await stub.applyChanges(
      board,
      [1, 2, 3].map((s) => ({ playerId: `p${s}`, score: s, reachedAt: 1, version: 1 })),
      3,
    );
    await stub.applyChanges(board, [{ playerId: "p3", score: 0, reachedAt: 2, version: 2 }], 0);
    expect((await stub.page({ limit: 10 })).complete).toBe(false);
    await runInDurableObject(stub, (_instance: LeaderboardDO, state) =>
      state.storage.deleteAlarm(),
    );
    await evictDurableObject(stub);
    const page = await stub.page({ limit: 10 });
    expect(page).toMatchObject({ complete: false, heldCount: 1 });
    expect(
      await runInDurableObject(stub, (_instance: LeaderboardDO, state) => state.storage.getAlarm()),
    ).not.toBeNull();
  });
});
