import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runUpkeep } from "../../src/cron/upkeep";
import { openDatabase } from "../../src/stores/postgres/client";
import { type OwnDatabase, ownDatabase } from "../helpers/own-database";

/** "events_YYYY_MM" of the UTC month `offset` months from (year, month0). */
function partitionName(year: number, month0: number, offset = 0): string {
  const d = new Date(Date.UTC(year, month0 + offset, 1));
  return `events_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

function monthStart(year: number, month0: number, offset = 0): Date {
  return new Date(Date.UTC(year, month0 + offset, 1));
}

// Dropping partitions is global to a database: these tests get one of their own, so other files'
// events (and their own upkeep runs) never meet them.
describe("daily upkeep retention (a database of its own; real Postgres only)", () => {
  let own: OwnDatabase | null;
  beforeAll(async () => {
    own = await ownDatabase("upkeep_retention");
  });
  afterAll(async () => {
    await own?.drop();
  });

  async function withDb<T>(
    fn: (db: ReturnType<typeof openDatabase>["db"]) => Promise<T>,
  ): Promise<T> {
    if (!own) throw new Error("no database of its own");
    const handle = openDatabase(own.env, { maxConnections: 1 });
    try {
      return await fn(handle.db);
    } finally {
      await handle.close();
    }
  }

  const partitions = () =>
    withDb(async (db) =>
      (
        await db.execute<{ name: string }>(sql`
          select c.relname as name from pg_inherits i
          join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname = 'events' and c.relname ~ '^events_[0-9]{4}_[0-9]{2}$'
          order by 1`)
      ).rows.map((r) => r.name),
    );

  const createPartition = (year: number, month0: number, offset: number) =>
    withDb((db) =>
      db.execute(
        sql.raw(`create table ${partitionName(year, month0, offset)} partition of events
          for values from ('${monthStart(year, month0, offset).toISOString()}')
          to ('${monthStart(year, month0, offset + 1).toISOString()}')`),
      ),
    );

  /** One event received at `at`; returns its id. */
  const insertEvent = (id: string, at: Date) =>
    withDb((db) =>
      db.execute(sql`insert into events (event_id, received_at, occurred_at, type, player_id)
        values (${id}, ${at.toISOString()}::timestamptz, ${at.toISOString()}::timestamptz, 'score', 'p')`),
    );

  const eventIds = () =>
    withDb(async (db) =>
      (
        await db.execute<{ event_id: string }>(sql`select event_id from events order by 1`)
      ).rows.map((r) => r.event_id),
    );

  it("keeps the current month and the two before it, drops every month before those, rows with them", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    // Postgres' clock decides which months ensure_event_partitions creates; the test runs the
    // upkeep at that same instant.
    const now = await withDb(async (db) => {
      const r = await db.execute<{ ms: string }>(
        sql`select (extract(epoch from now()) * 1000)::bigint::text as ms`,
      );
      return new Date(Number(r.rows[0]?.ms));
    });
    const y = now.getUTCFullYear();
    const m = now.getUTCMonth();
    // The migration made the previous month, this one and three ahead; older ones as if the cron
    // had stopped for a while.
    for (const offset of [-6, -5, -4, -3, -2]) await createPartition(y, m, offset);
    expect(await partitions()).toEqual(
      [-6, -5, -4, -3, -2, -1, 0, 1, 2, 3].map((o) => partitionName(y, m, o)),
    );
    // One row at the very end of the newest month dropped, one at the very start of the oldest
    // month kept, one now.
    await insertEvent("in-dropped", new Date(monthStart(y, m, -2).getTime() - 1));
    await insertEvent("in-kept", monthStart(y, m, -2));
    await insertEvent("in-current", now);

    const result = await withDb((db) => runUpkeep(db, now));
    expect(result.partitionsCreated).toBe(0);
    expect([...result.partitionsDropped].sort()).toEqual(
      [-6, -5, -4, -3].map((o) => partitionName(y, m, o)),
    );
    expect(await partitions()).toEqual([-2, -1, 0, 1, 2, 3].map((o) => partitionName(y, m, o)));
    expect(await eventIds()).toEqual(["in-current", "in-kept"]);

    // Idempotent: a second run the same day drops and creates nothing.
    const again = await withDb((db) => runUpkeep(db, now));
    expect(again.partitionsDropped).toEqual([]);
    expect(again.partitionsCreated).toBe(0);
    expect(await partitions()).toEqual([-2, -1, 0, 1, 2, 3].map((o) => partitionName(y, m, o)));
  });

  it("counts the retention in UTC months across a year boundary, at the date it is given", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    // Months long past: the run's date, not the clock, decides. 2021-02-15: keep Dec 2020 to
    // Feb 2021, drop Nov 2020 and older.
    for (const offset of [0, 1, 2, 3, 4, 5]) await createPartition(2020, 9, offset); // 2020-10 .. 2021-03
    await insertEvent("nov-2020-last-ms", new Date(Date.UTC(2020, 11, 1) - 1));
    await insertEvent("dec-2020-first-ms", new Date(Date.UTC(2020, 11, 1)));
    const before = await partitions();
    const result = await withDb((db) => runUpkeep(db, new Date(Date.UTC(2021, 1, 15, 23, 59))));
    expect([...result.partitionsDropped].sort()).toEqual(["events_2020_10", "events_2020_11"]);
    expect(await partitions()).toEqual(
      before.filter((name) => name !== "events_2020_10" && name !== "events_2020_11"),
    );
    const ids = await eventIds();
    expect(ids).toContain("dec-2020-first-ms");
    expect(ids).not.toContain("nov-2020-last-ms");
  });

  const dayPartitions = () =>
    withDb(async (db) =>
      (
        await db.execute<{ name: string }>(sql`
          select c.relname as name from pg_inherits i
          join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname = 'event_ids' order by 1`)
      ).rows.map((r) => r.name),
    );

  it("drops the idempotency day just past the 10-day window whole, keeps the one just inside, idempotently", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    // 2022-06-15: the window keeps 2022-06-05 (today - 10) and drops 2022-06-04 and older.
    const now = new Date(Date.UTC(2022, 5, 15, 3, 15));
    await withDb((db) =>
      db.execute(sql`select ensure_event_id_partitions('2022-06-03'::date, '2022-06-05'::date)`),
    );
    await withDb((db) =>
      db.execute(sql`insert into event_ids (event_id, occurred_day) values
        ('day-past-window', '2022-06-04'), ('day-inside-window', '2022-06-05')`),
    );
    const result = await withDb((db) => runUpkeep(db, now));
    expect(result.eventIdDaysDropped).toContain("event_ids_20220604");
    expect(result.eventIdDaysDropped).toContain("event_ids_20220603");
    expect(result.eventIdDaysDropped).not.toContain("event_ids_20220605");
    const days = await dayPartitions();
    expect(days).toContain("event_ids_20220605");
    expect(days).not.toContain("event_ids_20220604");
    // The window and a week ahead exist, so no insert of that day waits for DDL.
    for (const day of ["20220606", "20220615", "20220622"])
      expect(days).toContain(`event_ids_${day}`);
    const left = await withDb(
      async (db) =>
        (
          await db.execute<{ event_id: string }>(
            sql`select event_id from event_ids where event_id like 'day-%' order by 1`,
          )
        ).rows,
    );
    expect(left.map((r) => r.event_id)).toEqual(["day-inside-window"]);
    // Twice is once: nothing more to create or drop.
    const again = await withDb((db) => runUpkeep(db, now));
    expect(again.eventIdDaysCreated).toBe(0);
    expect(again.eventIdDaysDropped).toEqual([]);
    expect(await dayPartitions()).toEqual(days);
  });
});
