import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { TournamentClock } from "../../src/objects/tournament-clock";
import { ingestEvents } from "../../src/services/ingest/ingest";
import { tournamentClockStub } from "../../src/stores/objects/tournament-clock";
import { queryDatabase } from "../../src/stores/postgres/client";
import { tournamentBoardId } from "../../src/stores/postgres/tournaments";
import {
  ADMIN,
  api,
  eventId,
  eventually,
  query,
  scoreRows,
  testEnv,
  uniqueId,
} from "../helpers/factories";

const db = () => queryDatabase(testEnv);
const MIN = 60_000;
const HOUR = 60 * MIN;

const alarmOf = (clock: ReturnType<typeof tournamentClockStub>) =>
  runInDurableObject(clock, (_instance: TournamentClock, state) => state.storage.getAlarm());

describe("the tournament clock", () => {
  it("finalises an ended instance from its alarm alone (no cron, no admin call)", async () => {
    const end = Date.now() + HOUR;
    const id = uniqueId("tca");
    const created = await api("/v1/admin/tournaments", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id,
        name: "Clocked",
        startsAt: new Date(Date.now() - MIN).toISOString(),
        endsAt: new Date(end).toISOString(),
        prizes: [{ fromRank: 1, toRank: 1, reward: { trophy: "gold" } }],
      }),
    });
    expect(created.status).toBe(201);
    // Creating the tournament armed its clock: the alarm is set for the end plus the grace.
    const clock = tournamentClockStub(testEnv, id);
    const armed = await eventually(async () => (await alarmOf(clock)) ?? undefined);
    expect(armed).toBe(end + 30_000);

    const [winner, other] = [uniqueId("tcw"), uniqueId("tco")];
    const now = Date.now();
    const events = [
      [winner, 9],
      [other, 4],
    ].map(([playerId, score]) => ({
      id: eventId(),
      type: "score",
      playerId,
      tournamentId: id,
      score,
      occurredAt: new Date(now).toISOString(),
    }));
    expect((await ingestEvents(testEnv, db, events, { kind: "admin" }, now)).accepted).toBe(2);
    await eventually(async () =>
      (await scoreRows(tournamentBoardId(id))).length === 2 ? true : undefined,
    );

    // The clock reads the real time, so time passes by moving the window back: the instance ended
    // more than its grace ago, and nothing has finalised it.
    await query(sql`update tournaments set starts_at = now() - interval '2 hours',
                    ends_at = now() - interval '1 hour' where id = ${id}`);
    const finalised = () =>
      query<{ players: number }>(
        sql`select players from tournament_finalisations where tournament_id = ${id}`,
      );
    expect(await finalised()).toEqual([]);

    expect(await runDurableObjectAlarm(clock)).toBe(true);
    expect(await finalised()).toEqual([{ players: 2 }]);
    const prizes = await query<{ player_id: string; reward: unknown }>(
      sql`select player_id, reward from prizes where tournament_id = ${id}`,
    );
    expect(prizes).toEqual([{ player_id: winner, reward: { trophy: "gold" } }]);
    const page = (await (await api(`/v1/tournaments/${id}/leaderboard`)).json()) as {
      final: boolean;
      entries: Array<{ playerId: string }>;
    };
    expect(page.final).toBe(true);
    expect(page.entries.map((e) => e.playerId)).toEqual([winner, other]);
    // A one-off tournament has no next instance: the clock stops.
    expect(await alarmOf(clock)).toBeNull();
    expect(await runDurableObjectAlarm(clock)).toBe(false);
  }, 60_000);
});
