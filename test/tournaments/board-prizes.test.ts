import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { awardBoardPrizes } from "../../src/services/board-prizes";
import { ingestEvents } from "../../src/services/ingest/ingest";
import { queryDatabase } from "../../src/stores/postgres/client";
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
const DAY = 86_400_000;
const PRIZES = [
  { fromRank: 1, toRank: 1, reward: { coins: 10 } },
  { topPercent: 50, reward: "top-half" },
];

async function createBoard(body: Record<string, unknown>) {
  return api("/v1/admin/boards", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({ id: uniqueId("bp"), name: "Prized", ...body }),
  });
}

const patch = (board: string, body: unknown) =>
  api(`/v1/admin/boards/${board}`, { method: "PATCH", headers: ADMIN, body: JSON.stringify(body) });

/** Scores accepted at `at` (the test's clock), so they land in that day's period. */
async function score(board: string, playerId: string, value: number, at: number) {
  const event = {
    id: eventId(),
    type: "score",
    playerId,
    boardId: board,
    score: value,
    occurredAt: new Date(at).toISOString(),
  };
  return ingestEvents(testEnv, db, [event], { kind: "admin" }, at);
}

describe("prize rules on a periodic board", () => {
  it("are set at create and by PATCH, and refused on an all-time board or when malformed", async () => {
    const created = await createBoard({ periods: ["all", "weekly"], prizes: PRIZES });
    expect(created.status).toBe(201);
    const board = (await created.json()) as { id: string; prizes: unknown };
    expect(board.prizes).toEqual(PRIZES);
    const allTime = await createBoard({ periods: ["all"], prizes: PRIZES });
    expect(allTime.status).toBe(400);
    expect(await allTime.text()).toMatch(/daily, weekly or monthly/);
    const bad = await patch(board.id, { prizes: [{ fromRank: 3, toRank: 1, reward: 1 }] });
    expect(bad.status).toBe(400);
    const onAllTime = await patch(board.id, { periods: ["all"] });
    expect(onAllTime.status).toBe(400);
    const cleared = await patch(board.id, { prizes: [] });
    expect(cleared.status).toBe(200);
    expect(((await cleared.json()) as { prizes: unknown }).prizes).toEqual([]);
  });

  it("awards a daily board's ended period once, by rank bracket, as claimable prizes", async () => {
    const created = await createBoard({ periods: ["daily"], prizes: PRIZES });
    expect(created.status).toBe(201);
    const { id: board } = (await created.json()) as { id: string };
    const today = Date.UTC(
      new Date().getUTCFullYear(),
      new Date().getUTCMonth(),
      new Date().getUTCDate(),
    );
    const yesterday = new Date(today - DAY).toISOString().slice(0, 10);
    const [a, b, c] = [uniqueId("bpa"), uniqueId("bpb"), uniqueId("bpc")];
    await score(board, a, 30, today - DAY + 1000);
    await score(board, b, 20, today - DAY + 2000);
    await score(board, c, 10, today - DAY + 3000);
    await eventually(async () => ((await scoreRows(board)).length === 3 ? true : undefined));

    // Prizes set today do not award yesterday, which nobody competed in for them.
    const now = Date.now();
    expect((await awardBoardPrizes(db(), now)).keys).not.toContain(`${board}/${yesterday}`);
    // Set before yesterday ended: two runs at once award it once.
    await query(
      sql`update boards set prizes_since = ${new Date(today - 2 * DAY)} where id = ${board}`,
    );
    const runs = await Promise.all([awardBoardPrizes(db(), now), awardBoardPrizes(db(), now)]);
    const won = runs.filter((r) => r.keys.includes(`${board}/${yesterday}`));
    expect(won).toHaveLength(1);
    expect((await awardBoardPrizes(db(), now)).keys).not.toContain(`${board}/${yesterday}`);

    const prizes = await query<{ player_id: string; rank: number; reward: unknown }>(
      sql`select player_id, rank, reward from prizes
          where tournament_id = ${`~b.${board}`} and instance_key = ${yesterday} order by rank`,
    );
    // topPercent 50 of 3 players covers ranks 1-2; rank 1 takes the first bracket naming it.
    expect(prizes).toEqual([
      { player_id: a, rank: 1, reward: { coins: 10 } },
      { player_id: b, rank: 2, reward: "top-half" },
    ]);
    const listed = (await (
      await api(`/v1/players/${b}/prizes?status=pending`, { headers: ADMIN })
    ).json()) as { prizes: Array<{ id: string; boardId: string; tournamentId: null }> };
    expect(listed.prizes).toMatchObject([
      { boardId: board, tournamentId: null, instanceKey: yesterday, rank: 2, reward: "top-half" },
    ]);
    const claim = await api(`/v1/players/${b}/prizes/${listed.prizes[0]?.id}/claim`, {
      method: "POST",
      headers: ADMIN,
    });
    expect(claim.status).toBe(200);
    expect(await claim.json()).toMatchObject({ boardId: board, claimedAt: expect.any(String) });
  }, 60_000);
});
