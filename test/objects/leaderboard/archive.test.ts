import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parsePastPeriodDays, pastPeriodExpiryMs, periodKey } from "../../../src/domain";
import type { BoardPeriod, EntryState } from "../../../src/domain/leaderboard";
import {
  effectiveArchiveAt,
  isArchiveDue,
  REBUILT_KEEP_MS,
} from "../../../src/objects/leaderboard/archive-schedule";
import type { LeaderboardDO } from "../../../src/objects/leaderboard/leaderboard-do";
import { forgetBoards } from "../../../src/stores/cache/boards";
import {
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  query,
  testEnv,
} from "../../helpers/factories";
import { connectLive } from "../../helpers/live-clients";
import { boardPeriod, failure, stubFor } from "./helpers";

type Stub = ReturnType<typeof stubFor>;

const HOUR_MS = 3_600_000;

function states(scores: number[], version = 1): EntryState[] {
  return scores.map((score) => ({
    playerId: `p${score}`,
    score,
    reachedAt: 1_000 + score,
    version,
  }));
}

function alarmOf(stub: Stub): Promise<number | null> {
  return runInDurableObject(stub, (_instance: LeaderboardDO, state) => state.storage.getAlarm());
}

/** Rows in the object's SQLite tables: what it is billed for keeping. */
function storedRows(stub: Stub): Promise<{ entries: number; meta: number }> {
  return runInDurableObject(stub, (_instance: LeaderboardDO, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "select name from sqlite_master where type = 'table' and name in ('entries', 'meta')",
      )
      .toArray()
      .map((t) => t.name);
    const count = (table: string, where = "") =>
      tables.includes(table)
        ? Number(
            state.storage.sql
              .exec<{ n: number }>(`select count(*) as n from ${table} ${where}`)
              .one().n,
          )
        : 0;
    // Every object, even one never written to, creates its tables and their version row on wake-up.
    return { entries: count("entries"), meta: count("meta", "where key <> 'schema_version'") };
  });
}

/**
 * A board-period of a board that exists in Postgres, with `scores` written there as the consumer
 * would.
 */
async function postgresPeriod(scores: number[], periodKeyValue: string): Promise<BoardPeriod> {
  const boardId = await createBoard({ periods: ["daily"] });
  // A board old enough to have the period (reads refuse periods from before a board existed).
  await query(
    sql`update boards set created_at = ${`${periodKeyValue}T00:00:00Z`}::timestamptz - interval '30 days' where id = ${boardId}`,
  );
  forgetBoards();
  const board = boardPeriod({ boardId, periodKey: periodKeyValue, topSize: 10 });
  await query(
    sql`insert into scores (board_id, period_key, player_id, score, sort_score, reached_at, version) values ${sql.join(
      scores.map(
        (s) =>
          sql`(${boardId}, ${periodKeyValue}, ${`p${s}`}, ${s}, ${-s}, ${new Date(1_000 + s).toISOString()}::timestamptz, 1)`,
      ),
      sql`, `,
    )}`,
  );
  return board;
}

describe("archive schedule (pure)", () => {
  it("takes the caller's time, keeps the stored one when the caller does not say, and never archives a fresh rebuild", () => {
    expect(effectiveArchiveAt(undefined, 123, null)).toBe(123);
    expect(effectiveArchiveAt(null, 123, 50)).toBeNull();
    expect(effectiveArchiveAt(5_000, null, null)).toBe(5_000);
    // Rebuilt long before the archive time: the caller's time stands.
    expect(effectiveArchiveAt(10 * REBUILT_KEEP_MS, null, 0)).toBe(10 * REBUILT_KEEP_MS);
    // Rebuilt after it (a read of an archived period): kept a while from the rebuild.
    expect(effectiveArchiveAt(1_000, 1_000, 2_000)).toBe(2_000 + REBUILT_KEEP_MS);
    expect(isArchiveDue(null, Date.now())).toBe(false);
    expect(isArchiveDue(undefined, Date.now())).toBe(false);
    expect(isArchiveDue(100, 99)).toBe(false);
    expect(isArchiveDue(100, 100)).toBe(true);
  });
});

describe("LeaderboardDO archiving of past periods", () => {
  it("sets its alarm for the archive time it is told, and moves it when told another", async () => {
    const at = Date.now() + 48 * HOUR_MS;
    const board = { ...boardPeriod({ periodKey: "2026-11-20" }), archiveAt: at };
    const stub = stubFor(board);
    await stub.applyChanges(board, states([10, 20]), 2);
    expect(await alarmOf(stub)).toBe(at);
    const sooner = at - HOUR_MS;
    await stub.applyChanges({ ...board, archiveAt: sooner }, states([30]), 1);
    expect(await alarmOf(stub)).toBe(sooner);
    // A caller that does not say leaves it.
    const { archiveAt: _unsaid, ...withoutArchive } = board;
    await stub.applyChanges(withoutArchive, states([40]), 1);
    expect(await alarmOf(stub)).toBe(sooner);
  });

  it("refuses an archive time that is not epoch milliseconds, before anything changes", async () => {
    const board = boardPeriod({ periodKey: "2026-11-20" });
    const stub = stubFor(board);
    for (const archiveAt of [-5, 1.5, Number.NaN]) {
      expect(await failure(stub.applyChanges({ ...board, archiveAt }, states([1]), 1))).toMatch(
        /archiveAt must be epoch milliseconds/,
      );
    }
    expect((await stub.stats()).board).toBeNull();
  });

  it("the all-time period never archives: no alarm", async () => {
    const board = { ...boardPeriod(), archiveAt: null };
    const stub = stubFor(board);
    await stub.applyChanges(board, states([1, 2, 3]), 3);
    expect(await alarmOf(stub)).toBeNull();
  });

  it("at the archive time it drops its storage, its alarm and its live clients, and answers as a new object", async () => {
    const board = { ...boardPeriod({ periodKey: "2026-11-20" }), archiveAt: Date.now() + 300 };
    const stub = stubFor(board);
    await stub.applyChanges(board, states([10, 20, 30]), 3);
    expect((await storedRows(stub)).entries).toBe(3);
    const inbox = await connectLive(board);
    await inbox.nextLive();

    // The platform fires the alarm itself; the object tells its relays, which say bye.
    const bye = await inbox.nextLive(5_000);
    expect(bye).toMatchObject({ type: "bye", reason: "archived" });
    const closed = await inbox.closedEvent();
    expect(closed.code).toBe(1001);
    const { reconnectAfterMs } = JSON.parse(closed.reason) as { reconnectAfterMs: number };
    expect(reconnectAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(reconnectAfterMs).toBeLessThanOrEqual(10_000);
    await eventually(
      async () => ((await stub.stats()).board === null ? true : undefined),
      5_000,
      "the archive alarm",
    );
    expect(await storedRows(stub)).toEqual({ entries: 0, meta: 0 });
    expect(await alarmOf(stub)).toBeNull();
    const stats = await stub.stats();
    expect(stats).toMatchObject({ board: null, held: 0, total: 0, relays: 0 });
    const page = await stub.page({ limit: 10 });
    // Not initialized: the read path rebuilds it from Postgres before answering.
    expect(page).toMatchObject({ initialized: false, entries: [] });
  });

  it("ignores late changes once archived (a top-N of them alone would be wrong) and stores nothing", async () => {
    const board = { ...boardPeriod({ periodKey: "2026-11-20" }), archiveAt: Date.now() - 1 };
    const stub = stubFor(board);
    expect(await stub.applyChanges(board, states([50]), 1)).toEqual({
      applied: 0,
      topChanged: false,
      total: 0,
      previousWrittenAt: 0,
    });
    expect(await storedRows(stub)).toEqual({ entries: 0, meta: 0 });
    expect((await stub.stats()).board).toBeNull();
  });

  it("a read after the archive time rebuilds from Postgres and keeps the rebuild a day, not archiving on every read", async () => {
    const board = {
      ...(await postgresPeriod([5, 15, 25], "2026-11-20")),
      archiveAt: Date.now() - HOUR_MS,
    };
    const stub = stubFor(board);
    const before = Date.now();
    expect(await stub.rebuild(board)).toMatchObject({ loaded: 3, total: 3 });
    expect((await stub.page({ limit: 10 })).entries.map((e) => e.playerId)).toEqual([
      "p25",
      "p15",
      "p5",
    ]);
    const alarm = await alarmOf(stub);
    expect(alarm).not.toBeNull();
    expect(alarm as number).toBeGreaterThanOrEqual(before + REBUILT_KEEP_MS);
    // The alarm firing early (at-least-once, or a clock ahead) keeps everything.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.page({ limit: 10 })).entries).toHaveLength(3);
    expect(await alarmOf(stub)).toBe(alarm);
  });

  it("reading a period whose archive time has passed (last month's winners) rebuilds its object once, kept a day", async () => {
    const board = await postgresPeriod([3, 9, 6], "2026-11-01");
    const before = Date.now();
    const read = async () => {
      const res = await api(`/v1/leaderboards/${board.boardId}?period=daily&at=2026-11-01`, {
        headers: { "x-edgeboard-cache": "bypass" },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { entries: Array<{ playerId: string }> }).entries.map(
        (e) => e.playerId,
      );
    };
    expect(await read()).toEqual(["p9", "p6", "p3"]);
    const stub = stubFor(board);
    const { lastRebuildAt } = await stub.stats();
    expect(lastRebuildAt).not.toBeNull();
    expect((await alarmOf(stub)) as number).toBeGreaterThanOrEqual(before + REBUILT_KEEP_MS);
    // The next read is the object's alone: no second rebuild.
    expect(await read()).toEqual(["p9", "p6", "p3"]);
    expect((await stub.stats()).lastRebuildAt).toBe(lastRebuildAt);
  });

  it("a rebuild alarm sooner than the archive time runs first, and the archive alarm is set again after it", async () => {
    const archiveAt = Date.now() + 72 * HOUR_MS;
    const board = {
      ...(await postgresPeriod([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "2026-11-21")),
      archiveAt,
    };
    const stub = stubFor(board);
    await stub.rebuild(board);
    expect(await alarmOf(stub)).toBe(archiveAt);
    // p12 (held) drops below p3 on a board where the object cannot know who is 10th: incomplete.
    await query(
      sql`update scores set score = 0, sort_score = 0, version = 2 where board_id = ${board.boardId} and player_id = 'p12'`,
    );
    await stub.applyChanges(
      board,
      [{ playerId: "p12", score: 0, reachedAt: 1_000, version: 2 }],
      0,
    );
    expect((await stub.page({ limit: 10 })).complete).toBe(false);
    const rebuildAlarm = await alarmOf(stub);
    expect(rebuildAlarm).not.toBeNull();
    expect(rebuildAlarm as number).toBeLessThan(archiveAt);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const page = await stub.page({ limit: 10 });
    expect(page.complete).toBe(true);
    expect(page.entries.map((e) => e.playerId)).toEqual([
      "p11",
      "p10",
      "p9",
      "p8",
      "p7",
      "p6",
      "p5",
      "p4",
      "p3",
      "p2",
    ]);
    expect(await alarmOf(stub)).toBe(archiveAt);
  });

  it("the consumer tells a daily period's object to archive OBJECT_PAST_PERIOD_DAYS after the day ends", async () => {
    const boardId = await createBoard({ periods: ["daily"], timeZone: "UTC" });
    const now = new Date();
    const day = periodKey("daily", now, "UTC", "monday");
    expect(
      (
        await postEvents([
          {
            id: eventId(),
            type: "score",
            playerId: "d1",
            occurredAt: now.toISOString(),
            boardId,
            score: 7,
          },
        ])
      ).status,
    ).toBe(202);
    const stub = stubFor(boardPeriod({ boardId, periodKey: day }));
    await eventually(
      async () => ((await stub.stats()).held === 1 ? true : undefined),
      15_000,
      "the projection to the daily object",
    );
    const days = parsePastPeriodDays(testEnv.OBJECT_PAST_PERIOD_DAYS, "OBJECT_PAST_PERIOD_DAYS");
    expect(await alarmOf(stub)).toBe(
      pastPeriodExpiryMs({ timeZone: "UTC", weekStart: "monday" }, day, days),
    );
  });
});
