import { describe, expect, it } from "vitest";
import { ALL_TIME_KEY } from "../../src/domain/periods";
import { leaderboardStub } from "../../src/stores/objects/leaderboard";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  testEnv,
} from "../helpers/factories";

const score = (boardId: string, playerId: string, value: number) => ({
  id: eventId(),
  type: "score",
  playerId,
  occurredAt: new Date(Date.now() - 1_000).toISOString(),
  boardId,
  score: value,
});

describe("leaderboard pages at the edge", () => {
  it("carry Cache-Control with stale-while-revalidate, a Cache-Tag per board and board-period, and an ETag", async () => {
    const board = await createBoard({ cacheTtlSeconds: 7 });
    const res = await api(`/v1/leaderboards/${board}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=7, stale-while-revalidate=2");
    expect(res.headers.get("cache-tag")).toBe(`lb:${board},lb:${board}:${ALL_TIME_KEY}`);
    expect(res.headers.get("etag")).toMatch(/^W\/"[0-9a-f]{20}"$/);
    const daily = await createBoard({ periods: ["daily"], timeZone: "UTC" });
    const today = new Date().toISOString().slice(0, 10);
    const dailyPage = await api(`/v1/leaderboards/${daily}?period=daily`);
    expect(dailyPage.headers.get("cache-tag")).toBe(`lb:${daily},lb:${daily}:${today}`);
  });

  it("a private board's page is never stored at the edge: private, and no tag", async () => {
    const board = await createBoard({ public: false });
    const res = await api(`/v1/leaderboards/${board}`, { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/^private, /);
    expect(res.headers.get("cache-tag")).toBeNull();
  });

  it("a new score purges the board-period's pages: the next read is fresh long before the TTL", async () => {
    // A minute's TTL: without the purge the cached page would be served for a minute.
    const board = await createBoard({ sortOrder: "desc", cacheTtlSeconds: 60 });
    expect((await postEvents([score(board, "first", 10)])).status).toBe(202);
    const stub = leaderboardStub(testEnv, board, ALL_TIME_KEY);
    await eventually(async () => ((await stub.stats()).held === 1 ? true : undefined));
    // Cached with the first score: a read then a hit (the first score's own purge lands a moment
    // after the object has it, and may empty the cache once).
    await eventually(async () => {
      const res = await api(`/v1/leaderboards/${board}`);
      const body = (await res.json()) as { entries: unknown[] };
      const again = await api(`/v1/leaderboards/${board}`);
      return body.entries.length === 1 && again.headers.get("x-edge-cache") === "HIT"
        ? true
        : undefined;
    });

    const sent = Date.now();
    expect((await postEvents([score(board, "climber", 99)])).status).toBe(202);
    const fresh = await eventually(async () => {
      const res = await api(`/v1/leaderboards/${board}`);
      const body = (await res.json()) as { entries: Array<{ playerId: string }> };
      return body.entries[0]?.playerId === "climber" ? res : undefined;
    }, 15_000);
    expect(Date.now() - sent).toBeLessThan(30_000);
    expect(fresh.headers.get("x-edge-cache")).toBe("MISS");
    const metrics = (await (await api("/v1/admin/metrics", { headers: ADMIN })).json()) as Record<
      string,
      number
    >;
    expect(metrics.pagePurges).toBeGreaterThanOrEqual(2);
  });
});
