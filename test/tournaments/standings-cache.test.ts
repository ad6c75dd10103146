import { describe, expect, it } from "vitest";
import { counters } from "../../src/lib/metrics";
import { ADMIN, api, eventId, eventually, postEvents, uniqueId } from "../helpers/factories";

const MIN = 60_000;

/**
 * A running instance's standings are a board page by another name: cached at the edge under the
 * instance's tags, purged by the consumer, and a hit costs no query (the tournament's definition
 * is kept in the isolate as a board's is).
 */
describe("tournament standings through the page cache", () => {
  it("carry the instance's Cache-Tag; a hit makes no database query; a new score purges them", async () => {
    const id = uniqueId("tsc");
    const created = await api("/v1/admin/tournaments", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id,
        name: "Cached",
        startsAt: new Date(Date.now() - MIN).toISOString(),
        endsAt: new Date(Date.now() + 60 * MIN).toISOString(),
      }),
    });
    expect(created.status).toBe(201);
    const score = (playerId: string, value: number) =>
      postEvents([
        {
          id: eventId(),
          type: "score",
          playerId,
          tournamentId: id,
          score: value,
          occurredAt: new Date().toISOString(),
        },
      ]);
    const first = uniqueId("tscp");
    expect((await score(first, 10)).status).toBe(202);
    const url = `/v1/tournaments/${id}/leaderboard?limit=10`;
    type Page = { entries: Array<{ playerId: string }> };
    await eventually(async () => {
      const page = (await (await api(url)).json()) as Page;
      return page.entries.length === 1 ? true : undefined;
    }, 20_000);
    const warm = await api(url);
    expect(warm.headers.get("cache-tag")).toBe(`lb:~t.${id},lb:~t.${id}:main`);
    expect(warm.headers.get("cache-control")).toBe("public, max-age=2, stale-while-revalidate=2");
    const before = counters.postgresQueries + counters.postgresConnections;
    const hit = await api(url);
    expect(hit.headers.get("x-edge-cache")).toBe("HIT");
    expect(counters.postgresQueries + counters.postgresConnections - before).toBe(0);

    const second = uniqueId("tscp");
    expect((await score(second, 20)).status).toBe(202);
    const page = await eventually(async () => {
      const body = (await (await api(url)).json()) as Page;
      return body.entries[0]?.playerId === second ? body : undefined;
    }, 20_000);
    expect(page.entries.map((e) => e.playerId)).toEqual([second, first]);
  });
});
