import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ingestEvents } from "../../src/services/ingest/ingest";
import {
  createTournament as createTournamentRow,
  requireTournament,
} from "../../src/services/tournaments/definitions";
import { finaliseDue, finaliseInstance } from "../../src/services/tournaments/finalise";
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
const ADMIN_CALLER = { kind: "admin" } as const;
const MIN = 60_000;
const HOUR = 60 * MIN;

async function createTournament(body: Record<string, unknown>): Promise<string> {
  const id = uniqueId("tour");
  const res = await api("/v1/admin/tournaments", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({ id, name: `Cup ${id}`, ...body }),
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return id;
}

/** One score event for a tournament, accepted at `now` (the test's clock). */
async function send(
  tournamentId: string,
  playerId: string,
  score: number,
  now: number,
  id = eventId(),
) {
  const event = {
    id,
    type: "score",
    playerId,
    tournamentId,
    score,
    occurredAt: new Date(now).toISOString(),
  };
  return ingestEvents(testEnv, db, [event], ADMIN_CALLER, now);
}

const codeOf = (r: { rejected: Array<{ error: { code: string } }> }) => r.rejected[0]?.error.code;

async function join(tournamentId: string, playerId: string) {
  return api(`/v1/tournaments/${tournamentId}/join`, {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({ playerId }),
  });
}

describe("tournament windows", () => {
  it("accepts events from the start (inclusive) to the end (exclusive) of acceptance time", async () => {
    // In the future, so no clock alarm finalises it while the test drives acceptance times.
    const start = Date.now() + HOUR;
    const end = start + 30 * MIN;
    const id = await createTournament({
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(end).toISOString(),
    });
    const player = uniqueId("tw");
    expect(codeOf(await send(id, player, 1, start - 1))).toBe("TOURNAMENT_NOT_RUNNING");
    expect((await send(id, player, 2, start)).accepted).toBe(1);
    expect((await send(id, player, 3, end - 1)).accepted).toBe(1);
    expect(codeOf(await send(id, player, 4, end))).toBe("TOURNAMENT_NOT_RUNNING");
    expect(codeOf(await send("no-such-cup", player, 4, end))).toBe("UNKNOWN_TOURNAMENT");
    // The hidden board takes no score except through its tournament.
    const direct = await ingestEvents(
      testEnv,
      db,
      [
        {
          id: eventId(),
          type: "score",
          playerId: player,
          boardId: tournamentBoardId(id),
          score: 9,
          occurredAt: new Date().toISOString(),
        },
      ],
      ADMIN_CALLER,
    );
    expect(codeOf(direct)).toBe("UNKNOWN_BOARD");
    const rows = await eventually(async () => {
      const r = await scoreRows(tournamentBoardId(id));
      return r[0]?.score === 3 ? r : undefined;
    });
    expect(rows).toMatchObject([{ period_key: "main", player_id: player, score: 3 }]);
  });
});

describe("joining", () => {
  it("admits exactly 100 of 200 concurrent joins for 100 places, and is idempotent", async () => {
    const id = await createTournament({
      startsAt: new Date(Date.now() - MIN).toISOString(),
      endsAt: new Date(Date.now() + HOUR).toISOString(),
      maxPlayers: 100,
      joinRequired: true,
    });
    const players = Array.from({ length: 200 }, (_, i) => uniqueId(`tj${i}`));
    const answers = await Promise.all(players.map((p) => join(id, p)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 409)).toHaveLength(100);
    const full = answers.find((r) => r.status === 409) as Response;
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe("TOURNAMENT_FULL");
    const [count] = await query<{ n: number }>(
      sql`select count(*)::int as n from tournament_entries where tournament_id = ${id}`,
    );
    expect(count?.n).toBe(100);
    // Joining again answers the same entry, full or not.
    const joinedOne = players[statuses.indexOf(200)] as string;
    const again = await join(id, joinedOne);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ joined: false, instance: "main" });
  }, 60_000);

  it("refuses events of players who did not join, and counts attempts once per event id", async () => {
    const start = Date.now() - MIN;
    const id = await createTournament({
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + HOUR).toISOString(),
      joinRequired: true,
      maxAttempts: 2,
    });
    const player = uniqueId("ta");
    const now = Date.now();
    expect(codeOf(await send(id, player, 1, now))).toBe("TOURNAMENT_NOT_JOINED");
    expect((await join(id, player)).status).toBe(200);
    const first = eventId();
    expect((await send(id, player, 1, now, first)).accepted).toBe(1);
    expect((await send(id, player, 1, now, first)).accepted).toBe(1); // a retry uses no attempt
    expect((await send(id, player, 2, now)).accepted).toBe(1);
    expect(codeOf(await send(id, player, 3, now))).toBe("TOURNAMENT_ATTEMPTS_EXHAUSTED");
    const grant = await api(`/v1/admin/tournaments/${id}/attempts`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ playerId: player, count: 1 }),
    });
    expect(grant.status).toBe(200);
    expect((await send(id, player, 4, now)).accepted).toBe(1);
    expect(codeOf(await send(id, player, 5, now))).toBe("TOURNAMENT_ATTEMPTS_EXHAUSTED");
  });
});

describe("finalisation and prizes", () => {
  it("freezes once under concurrent finalisations, follows the tie-break at bracket edges, ignores late events, and claims once", async () => {
    const start = Date.now() - 10 * MIN;
    const end = Date.now() + HOUR;
    const id = await createTournament({
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(end).toISOString(),
      prizes: [
        { fromRank: 1, toRank: 1, reward: { coins: 100 } },
        { fromRank: 2, toRank: 2, reward: { coins: 50 } },
        { topPercent: 100, reward: { badge: "played" } },
      ],
    });
    const [a, b, c] = [uniqueId("tfa"), uniqueId("tfb"), uniqueId("tfc")];
    // a and b tie on 50; a reached it first, so a ranks 1st and b 2nd (the board's tie-break).
    await send(id, a, 50, start + 1000);
    await send(id, b, 50, start + 2000);
    await send(id, c, 10, start + 3000);
    await eventually(async () =>
      (await scoreRows(tournamentBoardId(id))).length === 3 ? true : undefined,
    );

    const t = await requireTournament(db(), id);
    // The test's clock is past the end (and its grace): two finalisations and the cron at once.
    const now = end + 60_000;
    const [one, two, swept] = await Promise.all([
      finaliseInstance(db(), t, "main", now),
      finaliseInstance(db(), t, "main", now),
      finaliseDue(db(), now),
    ]);
    const byCron = swept.keys.includes(`${id}/main`);
    expect([one.finalisedNow, two.finalisedNow, byCron].filter(Boolean)).toEqual([true]);
    const prizes = await query<{ player_id: string; rank: number; reward: unknown }>(
      sql`select player_id, rank, reward from prizes where tournament_id = ${id} order by rank`,
    );
    expect(prizes).toEqual([
      { player_id: a, rank: 1, reward: { coins: 100 } },
      { player_id: b, rank: 2, reward: { coins: 50 } },
      { player_id: c, rank: 3, reward: { badge: "played" } },
    ]);

    // An event accepted before the end but consumed after the finalisation moves nothing.
    const late = eventId();
    expect((await send(id, c, 999, end - 1, late)).accepted).toBe(1);
    await eventually(async () => {
      const [row] = await query<{ n: number }>(
        sql`select count(*)::int as n from events where event_id = ${late}`,
      );
      return row?.n === 1 ? true : undefined;
    });
    expect((await scoreRows(tournamentBoardId(id))).find((r) => r.player_id === c)?.score).toBe(10);

    // The ended instance stays readable: its frozen standings.
    const page = await api(`/v1/tournaments/${id}/leaderboard?instance=main&limit=2`);
    expect(page.status).toBe(200);
    const body = (await page.json()) as {
      final: boolean;
      total: number;
      entries: Array<{ playerId: string; rank: number }>;
      nextCursor: string;
    };
    expect(body).toMatchObject({ final: true, total: 3 });
    expect(body.entries.map((e) => e.playerId)).toEqual([a, b]);
    const rest = (await (
      await api(`/v1/tournaments/${id}/leaderboard?instance=main&cursor=${body.nextCursor}`)
    ).json()) as { entries: Array<{ playerId: string; score: number }> };
    expect(rest.entries).toMatchObject([{ playerId: c, score: 10 }]);

    // Claiming twice answers the same claimed prize.
    const pending = (await (
      await api(`/v1/players/${a}/prizes?status=pending`, { headers: ADMIN })
    ).json()) as { prizes: Array<{ id: string }> };
    expect(pending.prizes).toHaveLength(1);
    const prizeId = pending.prizes[0]?.id;
    const claim = () =>
      api(`/v1/players/${a}/prizes/${prizeId}/claim`, { method: "POST", headers: ADMIN });
    const first = (await (await claim()).json()) as { claimedAt: string };
    const second = (await (await claim()).json()) as { claimedAt: string };
    expect(first.claimedAt).not.toBeNull();
    expect(second).toEqual(first);
    const after = (await (
      await api(`/v1/players/${a}/prizes?status=pending`, { headers: ADMIN })
    ).json()) as { prizes: unknown[] };
    expect(after.prizes).toEqual([]);
    const claimed = (await (
      await api(`/v1/players/${a}/prizes?status=claimed`, { headers: ADMIN })
    ).json()) as { prizes: Array<{ id: string }> };
    expect(claimed.prizes.map((p) => p.id)).toEqual([prizeId]);
    expect(
      (await api(`/v1/players/${b}/prizes/${prizeId}/claim`, { method: "POST", headers: ADMIN }))
        .status,
    ).toBe(404);
  }, 60_000);
});

describe("the finalize route", () => {
  it("is idempotent, whoever finalised first (the clock's alarm or the route)", async () => {
    const id = await createTournament({
      startsAt: new Date(Date.now() - 2 * HOUR).toISOString(),
      endsAt: new Date(Date.now() - HOUR).toISOString(),
    });
    const call = () =>
      api(`/v1/admin/tournaments/${id}/finalize`, { method: "POST", headers: ADMIN, body: "{}" });
    const first = await call();
    expect(first.status).toBe(200);
    const second = (await (await call()).json()) as { finalisedNow: boolean; instanceKey: string };
    expect(second).toMatchObject({ finalisedNow: false, instanceKey: "main" });
    const [row] = await query<{ n: number }>(
      sql`select count(*)::int as n from tournament_finalisations where tournament_id = ${id}`,
    );
    expect(row?.n).toBe(1);
  });
});

describe("recurring tournaments", () => {
  it("rolls over to the next instance, each with its own standings, finalised in turn", async () => {
    // Every day at 20:00 in Tokyo (no DST: 11:00 UTC, same date) for an hour. Created through the
    // service, so no clock alarm finalises its past instances: the test's clock decides.
    const DAY = 24 * HOUR;
    const today = new Date();
    const base =
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - 2 * DAY;
    const dateKey = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const [key1, key2] = [dateKey(base), dateKey(base + DAY)];
    const id = uniqueId("tour");
    await createTournamentRow(db(), {
      id,
      name: "Daily",
      sortOrder: "desc",
      operator: "best",
      topSize: 100,
      startsAt: new Date(base).toISOString(),
      schedule: { every: "day", at: "20:00", timeZone: "Asia/Tokyo", durationMinutes: 60 },
      joinRequired: false,
      prizes: [{ fromRank: 1, toRank: 1, reward: "winner" }],
    });
    const player = uniqueId("tr");
    const at = (day: number, minutes: number) => base + day * DAY + 11 * HOUR + minutes * MIN;
    expect((await send(id, player, 5, at(0, 30))).accepted).toBe(1);
    expect(codeOf(await send(id, player, 6, at(0, 60)))).toBe("TOURNAMENT_NOT_RUNNING");
    expect(codeOf(await send(id, player, 6, at(1, -1)))).toBe("TOURNAMENT_NOT_RUNNING");
    expect((await send(id, player, 7, at(1, 0))).accepted).toBe(1);
    const rows = await eventually(async () => {
      const r = await scoreRows(tournamentBoardId(id));
      return r.length === 2 ? r : undefined;
    });
    expect(rows.map((r) => [r.period_key, r.score])).toEqual([
      [key1, 5],
      [key2, 7],
    ]);
    const t = await requireTournament(db(), id);
    // 45 minutes into the second instance: the first is over and finalised, the second runs on.
    await expect(finaliseInstance(db(), t, key2, at(1, 45))).rejects.toThrow(/ends at/);
    const first = await finaliseInstance(db(), t, undefined, at(1, 45));
    expect(first).toMatchObject({ instanceKey: key1, finalisedNow: true, standings: 1, prizes: 1 });
    const second = await finaliseInstance(db(), t, undefined, at(1, 61));
    expect(second).toMatchObject({
      instanceKey: key2,
      finalisedNow: true,
      standings: 1,
      prizes: 1,
    });
    const past = (await (
      await api(`/v1/tournaments/${id}/leaderboard?instance=${key1}`)
    ).json()) as { final: boolean; entries: Array<{ score: number }> };
    expect(past).toMatchObject({ final: true, entries: [{ score: 5 }] });
  });
});
