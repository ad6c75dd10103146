import { describe, expect, it } from "vitest";
import { forgetBoards } from "../../src/stores/cache/boards";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  type IngestReply,
  postEvents,
  scoreRows,
} from "../helpers/factories";

type Json = Record<string, unknown>;

const score = (boardId: string, playerId: string, value: number) => ({
  id: eventId(),
  type: "score",
  playerId,
  occurredAt: new Date(Date.now() - 1_000).toISOString(),
  boardId,
  score: value,
});

async function archive(board: string) {
  const res = await api(`/v1/admin/boards/${board}`, { method: "DELETE", headers: ADMIN });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Every read route of a board, as a player's client or a game server calls them. */
const READS = (board: string) => [
  `/v1/boards/${board}`,
  `/v1/leaderboards/${board}`,
  `/v1/leaderboards/${board}/players/kept-1`,
  `/v1/leaderboards/${board}/players/kept-1/around`,
  `/v1/leaderboards/${board}/rank-of?score=5`,
];

describe("DELETE /v1/admin/boards/:board", () => {
  it("archives: reads answer 410 JSON, events naming it are rejected per item, its records are kept", async () => {
    const board = await createBoard();
    const other = await createBoard();
    const seeded = (await (await postEvents([score(board, "kept-1", 10)])).json()) as IngestReply;
    expect(seeded.accepted).toBe(1);
    const rows = await eventually(async () => {
      const found = await scoreRows(board);
      return found.length === 1 ? found : undefined;
    });
    for (const path of READS(board)) expect([path, (await api(path)).status]).toEqual([path, 200]);

    const archived = await archive(board);
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id: board, archivedAt: expect.any(String) });

    for (const how of ["cached", "loaded"]) {
      if (how === "loaded") forgetBoards();
      for (const path of READS(board)) {
        const res = await api(path, { headers: { authorization: ADMIN.authorization } });
        const body = (await res.json()) as { error?: { code?: string; message?: string } };
        expect([how, path, res.status, body.error?.code]).toEqual([how, path, 410, "GONE"]);
        expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      }
    }

    const res = await postEvents([
      score(board, "late", 99),
      score(other, "elsewhere", 7),
      score(board, "kept-1", 50),
    ]);
    expect(res.status).toBe(202);
    const reply = (await res.json()) as IngestReply;
    expect(reply.accepted).toBe(1);
    expect(reply.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [0, "BOARD_ARCHIVED"],
      [2, "BOARD_ARCHIVED"],
    ]);
    await eventually(async () => ((await scoreRows(other)).length === 1 ? true : undefined));
    expect(await scoreRows(board)).toEqual(rows);

    // The admin list still shows it when asked (walked page by page: other files' boards share
    // the database, so it need not be on the first page).
    let found: Json | undefined;
    let cursor: string | null = "";
    while (!found && cursor !== null) {
      const list = await api(
        `/v1/admin/boards?includeArchived=true&limit=200${cursor ? `&cursor=${cursor}` : ""}`,
        { headers: ADMIN },
      );
      const page = (await list.json()) as { boards: Json[]; nextCursor: string | null };
      found = page.boards.find((b) => b.id === board);
      cursor = page.nextCursor;
    }
    expect(found).toMatchObject({ archivedAt: archived.body.archivedAt });
  });

  it("is idempotent: a second DELETE answers 200 with the first archivedAt", async () => {
    const board = await createBoard();
    const first = await archive(board);
    const second = await archive(board);
    expect(first.status).toBe(200);
    expect(second).toEqual(first);
    forgetBoards();
    expect(await archive(board)).toEqual(first);
  });

  it("an archived board cannot be edited (410), and a player's ranks leave it out", async () => {
    const board = await createBoard();
    const player = `ranks-${eventId().slice(0, 8)}`;
    expect((await postEvents([score(board, player, 3)])).status).toBe(202);
    const ranks = async () => {
      const res = await api(`/v1/players/${player}/ranks`, { headers: ADMIN });
      return ((await res.json()) as { ranks: Array<{ board: string }> }).ranks.map((r) => r.board);
    };
    await eventually(async () => ((await ranks()).includes(board) ? true : undefined));
    expect((await archive(board)).status).toBe(200);
    expect(await ranks()).toEqual([]);
    const edit = await api(`/v1/admin/boards/${board}`, {
      method: "PATCH",
      headers: ADMIN,
      body: JSON.stringify({ name: "too late" }),
    });
    expect([edit.status, ((await edit.json()) as { error: Json }).error.code]).toEqual([
      410,
      "GONE",
    ]);
  });

  it("answers 404 for an unknown board and 400 for an id that cannot be one", async () => {
    expect((await archive("no-such-board-anywhere")).status).toBe(404);
    const bad = await archive("-leading-dash");
    expect([bad.status, (bad.body.error as Json).code]).toEqual([400, "VALIDATION_FAILED"]);
  });
});
