import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { leaderboardObjectName } from "../../../src/domain/board-period-key";
import { openDatabase } from "../../../src/stores/postgres/client";
import { type EventRow, persistBatch } from "../../../src/stores/postgres/persist-batch";
import {
  aroundFromPostgres,
  countFromPostgres,
  pageFromPostgres,
  playerRankFromPostgres,
  playersFromPostgres,
  rankForScoreFromPostgres,
} from "../../../src/stores/postgres/ranks";
import { makeRandom } from "../../domain/prng";
import {
  createBoard,
  eventId,
  eventually,
  postEvents,
  query,
  testEnv,
} from "../../helpers/factories";

type Truth = { playerId: string; rank: number; sortScore: number; reachedAt: string };

/** Postgres' own ranking of a board-period, by brute force: what every count must agree with. */
async function bruteForce(boardId: string, periodKey = "all"): Promise<Truth[]> {
  const rows = await query<{
    player_id: string;
    rank: string;
    sort_score: string;
    reached_at: string;
  }>(sql`
    select player_id, row_number() over (order by sort_score, reached_at, player_id) as rank, sort_score, reached_at
    from scores where board_id = ${boardId} and period_key = ${periodKey} order by rank`);
  return rows.map((r) => ({
    playerId: r.player_id,
    rank: Number(r.rank),
    sortScore: Number(r.sort_score),
    reachedAt: new Date(r.reached_at).toISOString(),
  }));
}

/**
 * Band counts that differ from a recount of the board's records (none when the triggers kept up).
 */
async function driftedBands(boardId: string): Promise<unknown[]> {
  return query(sql`
    select coalesce(k.period_key, c.period_key) as period_key, coalesce(k.bucket, c.bucket) as bucket, k.records as kept, c.records as counted
    from (select period_key, bucket, records from score_buckets where board_id = ${boardId} and records <> 0) k
    full join (select period_key, score_bucket(sort_score) as bucket, count(*) as records from scores
               where board_id = ${boardId} group by 1, 2) c
      on c.period_key = k.period_key and c.bucket = k.bucket
    where k.records is distinct from c.records`);
}

/** Scores spread over every kind of band: small exact ones, wide ones, negative, huge, and ties. */
function spreadScore(random: () => number): number {
  const kind = Math.floor(random() * 5);
  if (kind === 0) return Math.floor(random() * 200) - 100;
  if (kind === 1) return Math.floor(random() * 5) * 1_000;
  if (kind === 2) return Math.floor(random() * 2_000_000) - 1_000_000;
  if (kind === 3) return Math.floor(random() * 2 ** 52) * (random() < 0.5 ? -1 : 1);
  return 2 ** Math.floor(random() * 40) + Math.floor(random() * 3) - 1;
}

async function insertRecords(
  boardId: string,
  sortOrder: "desc" | "asc",
  records: Array<{ playerId: string; score: number; at: number }>,
) {
  const sign = sortOrder === "desc" ? -1 : 1;
  await query(sql`
    insert into scores (board_id, period_key, player_id, score, sort_score, reached_at)
    values ${sql.join(
      records.map(
        (r) =>
          sql`(${boardId}, 'all', ${r.playerId}, ${r.score}, ${sign * r.score}, ${new Date(r.at).toISOString()}::timestamptz)`,
      ),
      sql`, `,
    )}`);
}

describe("score bands (migrations/0006_score_buckets.sql)", () => {
  it("ascend with sort scores, and each band's floor is its smallest score, across the whole bigint range", async () => {
    const [result] = await query<{
      non_monotone: string;
      floor_above: string;
      floor_not_smallest: string;
      floor_elsewhere: string;
    }>(sql`
      with vals as (
        select v from (values (0::bigint), (1), (-1), (127), (-127), (128), (-128), (129), (-129), (255), (256), (-256), (-257),
                              (9223372036854775807), (-9223372036854775807), (-9223372036854775808)) t(v)
        union select (2::numeric ^ g)::bigint + d from generate_series(7, 62) g, (values (-1), (0), (1)) t(d)
        union select -((2::numeric ^ g)::bigint + d) from generate_series(7, 62) g, (values (-1), (0), (1)) t(d)
        union select g from generate_series(-5000, 5000) g
        union select (random() * 2e18 - 1e18)::bigint from generate_series(1, 5000)
      ), b as (select v, score_bucket(v) as band, lag(score_bucket(v)) over (order by v) as previous from vals)
      select (select count(*) from b where previous > band) as non_monotone,
             (select count(*) from b where score_bucket_floor(band) > v) as floor_above,
             (select count(*) from b where score_bucket_floor(band) > -9223372036854775808
                                       and score_bucket(score_bucket_floor(band) - 1) = band) as floor_not_smallest,
             (select count(*) from b where score_bucket(score_bucket_floor(band)) <> band) as floor_elsewhere`);
    expect(result).toEqual({
      non_monotone: "0",
      floor_above: "0",
      floor_not_smallest: "0",
      floor_elsewhere: "0",
    });
  });

  it("have not-inlined forms for queries (0007) that give the same band and band start everywhere", async () => {
    const [result] = await query<{
      checked: string;
      band_differs: string;
      start_differs: string;
    }>(sql`
      with vals as (
        select v from (values (0::bigint), (127), (-128), (9223372036854775807), (-9223372036854775807), (-9223372036854775808)) t(v)
        union select (2::numeric ^ g)::bigint + d from generate_series(7, 62) g, (values (-1), (0), (1)) t(d)
        union select -((2::numeric ^ g)::bigint + d) from generate_series(7, 62) g, (values (-1), (0), (1)) t(d)
        union select g from generate_series(-3000, 3000) g
        union select (random() * 2e18 - 1e18)::bigint from generate_series(1, 3000)
      )
      select count(*) as checked,
             count(*) filter (where score_bucket_of(v) <> score_bucket(v)) as band_differs,
             count(*) filter (where score_bucket_start_of(v) <> score_bucket_floor(score_bucket(v))) as start_differs
      from vals`);
    expect(Number(result?.checked)).toBeGreaterThan(9_000);
    expect(result).toMatchObject({ band_differs: "0", start_differs: "0" });
  });

  for (const sortOrder of ["desc", "asc"] as const) {
    it(`give every Postgres count the brute-force answer on spread ${sortOrder} scores, also after updates and deletes`, async () => {
      const random = makeRandom(sortOrder === "desc" ? 11 : 12).next;
      const boardId = await createBoard({ sortOrder });
      const t0 = Date.parse("2026-11-20T10:00:00.000Z");
      await insertRecords(
        boardId,
        sortOrder,
        Array.from({ length: 400 }, (_, i) => ({
          playerId: `s${i}`,
          score: spreadScore(random),
          at: t0 + Math.floor(random() * 4) * 1000,
        })),
      );
      // Moves across bands and inside them, and removals: what the triggers must follow.
      await query(sql`update scores set score = score + 1000, sort_score = sort_score ${sortOrder === "desc" ? sql`-` : sql`+`} 1000
                      where board_id = ${boardId} and player_id like 's1%'`);
      await query(
        // Tripled where the result stays a safe integer (scores_score_safe refuses the rest).
        sql`update scores set score = score * 3, sort_score = sort_score * 3
            where board_id = ${boardId} and player_id like 's2%' and abs(score) <= 3002399751580330`,
      );
      await query(sql`delete from scores where board_id = ${boardId} and player_id like 's3%'`);
      expect(await driftedBands(boardId)).toEqual([]);

      const truth = await bruteForce(boardId);
      const handle = openDatabase(testEnv);
      try {
        const db = handle.db;
        expect(await countFromPostgres(db, boardId, "all")).toBe(truth.length);
        for (const t of truth.filter((_, i) => i % 7 === 0 || i === truth.length - 1)) {
          const rank = await playerRankFromPostgres(db, boardId, "all", t.playerId);
          expect(rank, t.playerId).toMatchObject({ rank: t.rank, total: truth.length });
          // The rank a score would get now: after every record at that score or better.
          const atOrBetter = truth.filter((u) => u.sortScore <= t.sortScore).length;
          expect(await rankForScoreFromPostgres(db, boardId, "all", t.sortScore)).toBe(
            atOrBetter + 1,
          );
        }
        // A cursor page's first rank, an around window and a friends list: the same counts.
        const cursorAt = truth[150] as Truth;
        const page = await pageFromPostgres(db, boardId, "all", { limit: 5, after: cursorAt });
        expect(page.map((r) => [r.rank, r.playerId])).toEqual(
          truth.slice(151, 156).map((t) => [t.rank, t.playerId]),
        );
        const me = truth[200] as Truth;
        const around = await aroundFromPostgres(db, boardId, "all", me.playerId, 2);
        expect(around?.map((r) => [r.rank, r.playerId])).toEqual(
          truth.slice(198, 203).map((t) => [t.rank, t.playerId]),
        );
        const friends = [truth[3], truth[77], truth.at(-1)] as Truth[];
        const ranked = await playersFromPostgres(
          db,
          boardId,
          "all",
          friends.map((f) => f.playerId),
        );
        expect(ranked.map((r) => [r.rank, r.playerId])).toEqual(
          friends.map((f) => [f.rank, f.playerId]),
        );
      } finally {
        await handle.close();
      }
    });
  }

  it("stay exact when many writers upsert the same board at once (and none deadlocks)", async () => {
    const boardId = await createBoard();
    const writers = Array.from({ length: 6 }, (_, w) => w);
    const random = makeRandom(99).next;
    await Promise.all(
      writers.map(async (w) => {
        for (let round = 0; round < 5; round++) {
          // Overlapping players: inserts and updates in one statement, bands crossing each other.
          const values = Array.from({ length: 40 }, (_, i) => {
            const score = Math.floor(random() * 100_000);
            return sql`(${boardId}, 'all', ${`c${(i * 7 + w * 13 + round) % 120}`}, ${score}::bigint, ${-score}::bigint, now())`;
          });
          await query(sql`
            insert into scores as s (board_id, period_key, player_id, score, sort_score, reached_at)
            select * from (values ${sql.join(values, sql`, `)}) v(board_id, period_key, player_id, score, sort_score, reached_at)
            -- In key order, as the consumer writes: row locks taken in one order cannot deadlock.
            order by player_id
            on conflict (board_id, period_key, player_id) do update set score = excluded.score, sort_score = excluded.sort_score`);
        }
      }),
    );
    expect(await driftedBands(boardId)).toEqual([]);
    expect(
      Number(
        (
          await query<{ n: string }>(
            sql`select count(*) as n from scores where board_id = ${boardId}`,
          )
        )[0]?.n,
      ),
    ).toBe(120);
  });

  it("stay exact when concurrent batches write overlapping and disjoint board-periods (no deadlock)", async () => {
    // Three boards, two periods each; each writer's batches touch two of the boards (overlapping
    // pairs) or one alone (disjoint), with players both new (insert trigger) and known (update
    // trigger, bands crossing), so each statement fires band triggers over several board-periods
    // in orders that differ between writers: with the per-board-period locks taken out of order
    // they would deadlock.
    const boards = await Promise.all([0, 1, 2].map(() => createBoard({ periods: ["all"] })));
    const [a, b, c] = boards as [string, string, string];
    const plans = [[a, b], [b, c], [c, a], [a], [b], [c]];
    const random = makeRandom(7).next;
    const writers = plans.map(async (targets, w) => {
      const handle = openDatabase(testEnv, { maxConnections: 1 });
      try {
        for (let round = 0; round < 6; round++) {
          const events: EventRow[] = [];
          const contributions: { event_id: string; board_id: string; period_key: string }[] = [];
          for (let i = 0; i < 30; i++) {
            const board = targets[(i + round) % targets.length] as string;
            const id = eventId();
            const now = new Date().toISOString();
            events.push({
              event_id: id,
              received_at: now,
              occurred_at: now,
              type: "score",
              player_id: `q${(i * 11 + w * 5 + round * 3) % 60}`,
              board_id: board,
              tournament_id: null,
              score: spreadScore(random),
              display_name: null,
              metadata: null,
              payload: null,
            });
            for (const period of ["all", "2026-12-04"])
              contributions.push({ event_id: id, board_id: board, period_key: period });
          }
          await persistBatch(handle.db, "scores", events, contributions, { shard: w });
        }
      } finally {
        await handle.close();
      }
    });
    // Every writer succeeds: no deadlock_detected (40P01) or serialization failure surfaces.
    const settled = await Promise.allSettled(writers);
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    for (const board of boards) expect(await driftedBands(board)).toEqual([]);
  });

  it("are kept by the consumer's batch statement, for every period it writes", async () => {
    const boardId = await createBoard({ periods: ["all", "daily", "weekly"] });
    const random = makeRandom(5).next;
    const events = Array.from({ length: 150 }, (_, i) => ({
      id: eventId(),
      type: "score",
      playerId: `e${i % 90}`,
      occurredAt: new Date(Date.now() - 30_000).toISOString(),
      boardId,
      score: spreadScore(random),
    }));
    // Two requests: one takes at most 100 events.
    expect((await postEvents(events.slice(0, 75))).status).toBe(202);
    expect((await postEvents(events.slice(75))).status).toBe(202);
    await eventually(async () => {
      const rows = await query<{ n: string }>(
        sql`select count(*) as n from event_ids where event_id in ${sql`(${sql.join(
          events.map((e) => sql`${e.id}`),
          sql`, `,
        )})`}`,
      );
      return Number(rows[0]?.n) === events.length ? true : undefined;
    });
    expect(await driftedBands(boardId)).toEqual([]);
    const total = await query<{ n: string }>(
      sql`select coalesce(sum(records), 0) as n from score_buckets where board_id = ${boardId}`,
    );
    expect(Number(total[0]?.n)).toBe(90 * 3);
  });

  it("give each object Postgres' exact count after every batch, healing a total that drifted", async () => {
    const boardId = await createBoard();
    // A record the objects never heard of (written around the consumer): the old sum of new
    // players would never count it.
    await query(sql`insert into scores (board_id, period_key, player_id, score, sort_score, reached_at)
                    values (${boardId}, 'all', 'outside', 1, -1, now())`);
    const events = ["x1", "x2", "x3"].map((playerId, i) => ({
      id: eventId(),
      type: "score",
      playerId,
      occurredAt: new Date(Date.now() - 10_000).toISOString(),
      boardId,
      score: 100 + i,
    }));
    expect((await postEvents(events)).status).toBe(202);
    const stub = testEnv.LEADERBOARD.getByName(leaderboardObjectName(boardId, "all"));
    const stats = await eventually(async () => {
      const s = await stub.stats();
      return s.held === 4 || s.held === 3 ? (s.total === 4 ? s : undefined) : undefined;
    });
    expect(stats.total).toBe(4);
  });
});
