import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDEMPOTENCY_WINDOW_DAYS, utcDayFrom } from "../../src/domain";
import worker from "../../src/index";
import { uniqueId } from "../helpers/factories";
import { type OwnDatabase, ownDatabase, queryOn } from "../helpers/own-database";

// The daily upkeep drops idempotency days and event months past retention in the whole database:
// it runs in a database of its own, so it never drops what other files' tests just created.
describe("daily upkeep cron (a database of its own; real Postgres only)", () => {
  let own: OwnDatabase | null = null;
  beforeAll(async () => {
    own = await ownDatabase("upkeep_cron");
  });
  afterAll(async () => {
    await own?.drop();
  });
  const ownEnv = () => {
    if (!own) throw new Error("no database of its own");
    return own.env;
  };
  const query = <T>(statement: ReturnType<typeof sql>) => queryOn<T>(ownEnv(), statement);

  it("keeps partitions ahead and the idempotency days over the window and a week ahead, idempotently", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const kept = uniqueId("kept-id");
    const day = (offset: number) => utcDayFrom(new Date(), offset);
    await query(
      sql`insert into event_ids (event_id, occurred_day) values (${kept}, ${day(-IDEMPOTENCY_WINDOW_DAYS + 1)}::date)`,
    );
    for (let run = 0; run < 2; run++) {
      const ctx = createExecutionContext();
      await worker.scheduled(
        createScheduledController({ cron: "15 3 * * *", scheduledTime: Date.now() }),
        ownEnv(),
        ctx,
      );
      await waitOnExecutionContext(ctx);
    }
    const left = await query<{ event_id: string }>(
      sql`select event_id from event_ids where event_id = ${kept}`,
    );
    expect(left.map((r) => r.event_id)).toEqual([kept]);
    const dayParts = await query<{ name: string }>(
      sql`select relname as name from pg_class where relname = ${`event_ids_${day(7).replaceAll("-", "")}`}`,
    );
    expect(dayParts).toHaveLength(1);
    const ahead = new Date();
    ahead.setUTCMonth(ahead.getUTCMonth() + 3, 1);
    const name = `events_${ahead.getUTCFullYear()}_${String(ahead.getUTCMonth() + 1).padStart(2, "0")}`;
    const parts = await query<{ n: string }>(
      sql`select count(*) as n from pg_class where relname = ${name}`,
    );
    expect(Number(parts[0]?.n)).toBe(1);
  });

  it("drops refused events older than the retention, keeps newer ones", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const old = uniqueId("refused-old");
    const recent = uniqueId("refused-new");
    await query(sql`insert into score_rejections (event_id, board_id, player_id, code, score, rejected_at)
      values (${old}, 'b', 'p', 'SCORE_OUT_OF_RANGE', 1, now() - interval '31 days'),
             (${recent}, 'b', 'p', 'SCORE_OUT_OF_RANGE', 1, now() - interval '29 days')`);
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ cron: "15 3 * * *", scheduledTime: Date.now() }),
      ownEnv(),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const left = await query<{ event_id: string }>(
      sql`select event_id from score_rejections where event_id in (${old}, ${recent})`,
    );
    expect(left.map((r) => r.event_id)).toEqual([recent]);
  });

  it("sweeps band counts left at zero, and keeps the bands that still count records", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const board = uniqueId("swept");
    await query(sql`insert into scores (board_id, period_key, player_id, score, sort_score, reached_at)
                    values (${board}, 'all', 'a', 5, -5, now()), (${board}, 'all', 'b', 9000, -9000, now())`);
    // a moves to b's band: its old band is left at zero.
    await query(
      sql`update scores set score = 9001, sort_score = -9001 where board_id = ${board} and player_id = 'a'`,
    );
    const bands = () =>
      query<{ bucket: string; records: string }>(
        sql`select bucket, records from score_buckets where board_id = ${board} order by bucket`,
      );
    expect((await bands()).map((b) => Number(b.records))).toEqual([2, 0]);
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ cron: "15 3 * * *", scheduledTime: Date.now() }),
      ownEnv(),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect((await bands()).map((b) => Number(b.records))).toEqual([2]);
  });

  it("runs no upkeep on triggers that have no job yet", async ({ skip }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    // A day partition long past the window, which the daily upkeep would drop.
    const day = utcDayFrom(new Date(), -40);
    const name = `event_ids_${day.replaceAll("-", "")}`;
    await query(sql`select ensure_event_id_partitions(${day}::date, ${day}::date)`);
    try {
      const ctx = createExecutionContext();
      await worker.scheduled(
        createScheduledController({ cron: "5 * * * *", scheduledTime: Date.now() }),
        ownEnv(),
        ctx,
      );
      await waitOnExecutionContext(ctx);
      const left = await query(sql`select 1 from pg_class where relname = ${name}`);
      expect(left).toHaveLength(1);
    } finally {
      await query(
        sql`select drop_event_id_partitions_before(${utcDayFrom(new Date(), -39)}::date)`,
      );
    }
  });
});
