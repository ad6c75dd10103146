import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../../src/stores/postgres/client";
import { sqlState } from "../../../src/stores/postgres/errors";
import { type EventRow, persistBatch } from "../../../src/stores/postgres/persist-batch";
import { eventId } from "../../helpers/factories";
import { migrateOwnDatabase, type OwnDatabase, ownDatabase } from "../../helpers/own-database";

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const partition = (ms: number) => `event_ids_${day(ms).replaceAll("-", "")}`;

/** One analytics event as the consumer hands it to Postgres (no board: it moves no score). */
function row(id: string, occurredAt: number, receivedAt: number): EventRow {
  return {
    event_id: id,
    received_at: new Date(receivedAt).toISOString(),
    occurred_at: new Date(occurredAt).toISOString(),
    type: "level_up",
    player_id: "migrated",
    board_id: null,
    tournament_id: null,
    score: null,
    display_name: null,
    metadata: null,
    payload: null,
  };
}

// Migration 0012 re-keys event_ids from (event_id) with a received_at into daily partitions of
// the occurred day. Databases that ran before it hold ids a retry must still meet: a database of
// its own is migrated through 0011, written as that code wrote, then migrated the rest of the way.
describe("migration 0012 on existing event ids (a database of its own; real Postgres only)", () => {
  let own: OwnDatabase | null = null;
  beforeAll(async () => {
    own = await ownDatabase("event_id_days", { through: 11 });
  });
  afterAll(async () => {
    await own?.drop();
  });

  it("keeps the window's ids under their occurred day, and refuses their retries after", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const now = Date.now();
    const today = Math.floor(now / DAY_MS) * DAY_MS;
    // Occurred two days ago; occurred late yesterday, received today (keyed by yesterday, not by
    // its received day); an id with no event row (keyed by its received day); one past the window.
    const events = {
      recent: { id: eventId(), occurredAt: today - 2 * DAY_MS + 3_600_000, receivedAt: 0 },
      lateNight: { id: eventId(), occurredAt: today - 60_000, receivedAt: now },
      expired: { id: eventId(), occurredAt: today - 12 * DAY_MS, receivedAt: 0 },
    };
    events.recent.receivedAt = events.recent.occurredAt + 60_000;
    events.expired.receivedAt = events.expired.occurredAt + 60_000;
    const orphan = { id: eventId(), receivedAt: today - 3 * DAY_MS };

    const env = own.env;
    const handle = () => openDatabase(env, { maxConnections: 1 });
    const before = handle();
    try {
      // As the pre-0012 batch statement wrote them: the id with its received_at, and the event.
      for (const e of Object.values(events)) {
        const received = new Date(e.receivedAt).toISOString();
        await before.db.execute(sql`insert into event_ids (event_id, received_at)
          values (${e.id}, ${received}::timestamptz)`);
        await before.db.execute(sql`insert into events
            (event_id, received_at, occurred_at, type, player_id)
          values (${e.id}, ${received}::timestamptz,
                  ${new Date(e.occurredAt).toISOString()}::timestamptz, 'level_up', 'migrated')`);
      }
      await before.db.execute(sql`insert into event_ids (event_id, received_at)
        values (${orphan.id}, ${new Date(orphan.receivedAt).toISOString()}::timestamptz)`);
    } finally {
      await before.close();
    }

    await migrateOwnDatabase(own, 11);

    const after = handle();
    try {
      const kept = await after.db.execute<{ id: string; day: string; part: string }>(sql`
        select event_id as id, occurred_day::text as day, tableoid::regclass::text as part
        from event_ids order by occurred_day`);
      expect(kept.rows).toEqual([
        { id: orphan.id, day: day(orphan.receivedAt), part: partition(orphan.receivedAt) },
        {
          id: events.recent.id,
          day: day(events.recent.occurredAt),
          part: partition(events.recent.occurredAt),
        },
        {
          id: events.lateNight.id,
          day: day(events.lateNight.occurredAt),
          part: partition(events.lateNight.occurredAt),
        },
      ]);

      // A retry (same body, so the same occurredAt; received again now) through the consumer's
      // batch statement is a duplicate; a new event beside it is persisted.
      const fresh = eventId();
      const retry = await persistBatch(
        after.db,
        "analytics",
        [
          row(events.recent.id, events.recent.occurredAt, now),
          row(events.lateNight.id, events.lateNight.occurredAt, now),
          row(fresh, now - 60_000, now),
        ],
        [],
      );
      expect([retry.persisted, retry.duplicates]).toEqual([1, 2]);

      // And the key itself refuses a second copy of a migrated id.
      const copy = after.db.execute(sql`insert into event_ids (event_id, occurred_day)
        values (${orphan.id}, ${day(orphan.receivedAt)}::date)`);
      await expect(copy.catch((error: unknown) => sqlState(error))).resolves.toBe("23505");
    } finally {
      await after.close();
    }
  });
});
