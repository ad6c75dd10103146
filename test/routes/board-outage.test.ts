import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { forgetBoards } from "../../src/stores/cache/boards";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  query,
  testEnv,
  uniqueId,
} from "../helpers/factories";

/** The worker's environment during a Postgres outage: nothing listens where DATABASE_URL points. */
const outage: AppBindings = { ...testEnv, DATABASE_URL: "postgres://nobody@127.0.0.1:1/missing" };
const HOUR_MS = 3_600_000;
const app = createApp();

async function postDuringOutage(boardId: string, occurredAt: string) {
  const id = eventId();
  const ctx = createExecutionContext();
  const res = await app.request(
    "/v1/events",
    {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id,
        type: "score",
        playerId: uniqueId("p"),
        occurredAt,
        boardId,
        score: 7,
      }),
    },
    outage,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { id, res };
}

/** This isolate and the PoP have read the board from Postgres; then the clock moves on by `ms`. */
async function knownBoardThenLater(ms: number): Promise<{ board: string; occurredAt: string }> {
  const board = await createBoard();
  forgetBoards();
  expect((await api(`/v1/boards/${board}`)).status).toBe(200);
  const occurredAt = new Date().toISOString();
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
  return { board, occurredAt };
}

afterEach(() => {
  vi.useRealTimers();
  forgetBoards();
});

describe("POST /v1/events while Postgres is unreachable", () => {
  it("answers 202 for a known board with a definition hours old, and the event lands once Postgres is back", async () => {
    const { board, occurredAt } = await knownBoardThenLater(2 * HOUR_MS);
    const { id, res } = await postDuringOutage(board, occurredAt);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, rejected: [] });
    vi.useRealTimers();
    await eventually(async () =>
      (await query(sql`select 1 from event_ids where event_id = ${id}`)).length ? true : undefined,
    );
  });

  it("answers 202 from a cold isolate with the PoP's copy of the definition", async () => {
    const { board, occurredAt } = await knownBoardThenLater(2 * HOUR_MS);
    forgetBoards();
    const { res } = await postDuringOutage(board, occurredAt);
    expect(res.status).toBe(202);
  });

  it("answers 503 with Retry-After (JSON, never a 500) once the definition is older than the bound", async () => {
    const { board, occurredAt } = await knownBoardThenLater(25 * HOUR_MS);
    const { res } = await postDuringOutage(board, occurredAt);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await res.json()) as {
      error: { code: string; message: string; retryAfterSeconds: number };
    };
    expect(body.error.code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(body.error.retryAfterSeconds).toBe(Number(res.headers.get("retry-after")));
  });

  it("answers 503, not 404, for a board this PoP has never seen", async () => {
    const board = uniqueId("board");
    await query(
      sql`insert into boards (id, name, sort_order, operator, periods) values (${board}, ${board}, 'desc', 'best', '{all}')`,
    );
    const { res } = await postDuringOutage(board, new Date().toISOString());
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
  });
});
