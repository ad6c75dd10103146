import { describe, expect, it } from "vitest";
import { reconcileRanks } from "../../src/cron/reconcile-ranks";
import { ingestEvents } from "../../src/services/ingest/ingest";
import { requireTournament } from "../../src/services/tournaments/definitions";
import { finaliseInstance } from "../../src/services/tournaments/finalise";
import { openDatabase, queryDatabase } from "../../src/stores/postgres/client";
import { tournamentBoardId } from "../../src/stores/postgres/tournaments";
import {
  ADMIN,
  api,
  eventId,
  eventually,
  scoreRows,
  testEnv,
  uniqueId,
} from "../helpers/factories";
import { testRedis } from "../stores/redis/fixtures";

const db = () => queryDatabase(testEnv);
const hasRedis = Boolean(testEnv.UPSTASH_REDIS_REST_URL);
const MIN = 60_000;
const HOUR = 60 * MIN;

type Rank = { rank: number; total: number; final: boolean; score: number; percentile: number };
type Around = { final: boolean; total: number; entries: Array<{ playerId: string; rank: number }> };

describe("a player's rank and around-me in a tournament instance", () => {
  it("answers a running instance like a board, then the frozen standings once finalised", async () => {
    const start = Date.now() - MIN;
    const end = Date.now() + HOUR;
    const id = uniqueId("tps");
    const created = await api("/v1/admin/tournaments", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id,
        name: "Ranks",
        startsAt: new Date(start).toISOString(),
        endsAt: new Date(end).toISOString(),
      }),
    });
    expect(created.status).toBe(201);
    const players = [50, 40, 30, 20, 10].map((score, i) => ({ id: uniqueId(`tps${i}`), score }));
    const now = Date.now();
    const events = players.map((p) => ({
      id: eventId(),
      type: "score",
      playerId: p.id,
      tournamentId: id,
      score: p.score,
      occurredAt: new Date(now).toISOString(),
    }));
    expect((await ingestEvents(testEnv, db, events, { kind: "admin" }, now)).accepted).toBe(5);
    await eventually(async () =>
      (await scoreRows(tournamentBoardId(id))).length === 5 ? true : undefined,
    );
    const third = players[2]?.id as string;
    const rank = async (query = "") => {
      const res = await api(`/v1/tournaments/${id}/players/${third}${query}`);
      expect(res.status).toBe(200);
      return { body: (await res.json()) as Rank, source: res.headers.get("x-rank-source") };
    };
    // Running: the board read path (the Durable Object or Postgres until Redis holds the instance).
    const open = await rank();
    expect(open.body).toMatchObject({ rank: 3, total: 5, final: false, score: 30, percentile: 60 });
    expect(open.source).not.toBe("final");
    const around = (await (
      await api(`/v1/tournaments/${id}/players/${third}/around?instance=main&n=1`)
    ).json()) as Around;
    expect(around).toMatchObject({ final: false, total: 5 });
    expect(around.entries.map((e) => e.playerId)).toEqual(players.slice(1, 4).map((p) => p.id));

    // The reconciliation cron loads the running instance into Redis, which then answers ranks
    // (with Redis configured; without it the object and Postgres go on answering).
    if (hasRedis) {
      const handle = openDatabase(testEnv, { maxConnections: 1 });
      try {
        await reconcileRanks(handle.db, testRedis(), testEnv.REDIS_KEY_PREFIX, new Date());
      } finally {
        await handle.close();
      }
      const loaded = await rank("?instance=main");
      expect(loaded.source).toBe("redis");
      expect(loaded.body).toMatchObject({ rank: 3, total: 5 });
    }

    // Finalised (the test's clock past the end): the frozen rows answer, final.
    const t = await requireTournament(db(), id);
    await finaliseInstance(db(), t, "main", end + MIN);
    const frozen = await rank("?instance=main");
    expect(frozen.source).toBe("final");
    expect(frozen.body).toMatchObject({ rank: 3, total: 5, final: true, score: 30 });
    const edge = (await (
      await api(`/v1/tournaments/${id}/players/${players[0]?.id}/around?instance=main&n=2`)
    ).json()) as Around;
    expect(edge).toMatchObject({ final: true, total: 5 });
    expect(edge.entries.map((e) => e.rank)).toEqual([1, 2, 3]);

    // Bad input is a 4xx JSON error.
    const missing = await api(`/v1/tournaments/${id}/players/nobody-${id}?instance=main`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    expect((await api(`/v1/tournaments/${id}/players/${third}?instance=2026-W99x`)).status).toBe(
      400,
    );
    expect((await api(`/v1/tournaments/${id}/players/${third}?instance=2026-11-22`)).status).toBe(
      404,
    );
    expect((await api(`/v1/tournaments/${id}/players/${third}/around?n=51`)).status).toBe(400);
    expect((await api(`/v1/tournaments/no-such-${id}/players/${third}`)).status).toBe(404);
  }, 60_000);
});
