import { describe, expect, it } from "vitest";
import { api, createBoard, eventId, eventually, postEvents } from "../helpers/factories";

type ErrorBody = {
  error: {
    code: string;
    message: string;
    requestId: string;
    issues?: Array<{ path: string; message: string }>;
  };
};

/** The routes that take `period` and `at`, with what else each needs to pass validation. */
const routes = (board: string) => [
  { name: "page", path: `/v1/leaderboards/${board}`, extra: "" },
  { name: "player", path: `/v1/leaderboards/${board}/players/p1`, extra: "" },
  { name: "around", path: `/v1/leaderboards/${board}/players/p1/around`, extra: "" },
  { name: "rank-of", path: `/v1/leaderboards/${board}/rank-of`, extra: "&score=5" },
  { name: "live", path: `/v1/leaderboards/${board}/live`, extra: "" },
];

/** The live route only gets past its upgrade check as a WebSocket request. */
const asWebSocket = { headers: { upgrade: "websocket" } };

async function get(path: string, init: RequestInit = {}) {
  const res = await api(path, init);
  const text = await res.text();
  return { status: res.status, text, body: (text ? JSON.parse(text) : null) as ErrorBody };
}

/** A 400 in the error shape: its code, a message naming `field`, and a request id. */
async function expectBadRequest(
  path: string,
  code: "VALIDATION_FAILED" | "BAD_REQUEST",
  field: string,
  init: RequestInit = {},
) {
  const res = await get(path, init);
  expect([path, res.status, res.body?.error?.code], res.text).toEqual([path, 400, code]);
  expect(res.body.error.requestId, path).toBeTruthy();
  if (code === "VALIDATION_FAILED") {
    // The summary leads with the field, and every issue names it (one value may break two rules).
    expect(res.body.error.message, path).toMatch(new RegExp(`^${field}: `));
    expect(new Set(res.body.error.issues?.map((i) => i.path)), path).toEqual(new Set([field]));
  } else {
    expect(res.body.error.message, path).toContain(field);
  }
  return res.body.error;
}

describe("leaderboard read parameters are checked on every route that takes them", () => {
  it("an unknown period is a 400 naming `period`, before any period logic", async () => {
    const board = await createBoard({ periods: ["all", "daily"] });
    for (const { path, extra } of routes(board)) {
      for (const period of ["hourly", "ALL", "", "yearly"]) {
        const error = await expectBadRequest(
          `${path}?period=${period}${extra}`,
          "VALIDATION_FAILED",
          "period",
        );
        expect(error.message).toContain('"weekly"');
      }
    }
  });

  it("a period the board does not keep is a 400 naming the period and the board's periods", async () => {
    const board = await createBoard({ periods: ["all", "daily"] });
    for (const { name, path, extra } of routes(board)) {
      for (const period of ["weekly", "monthly"]) {
        const error = await expectBadRequest(
          `${path}?period=${period}${extra}`,
          "BAD_REQUEST",
          "period",
          name === "live" ? asWebSocket : {},
        );
        expect(error.message).toBe(
          `Board "${board}" has no "${period}" period; it has: all, daily`,
        );
      }
    }
    // On a board without "all", the default is its first period, and "all" is one it lacks.
    const weekly = await createBoard({ periods: ["weekly"] });
    for (const { name, path, extra } of routes(weekly)) {
      const error = await expectBadRequest(
        `${path}?period=all${extra}`,
        "BAD_REQUEST",
        "period",
        name === "live" ? asWebSocket : {},
      );
      expect(error.message).toBe(`Board "${weekly}" has no "all" period; it has: weekly`);
    }
  });

  it("no `period`: all wherever the board lists it, else its first period", async () => {
    const cases = [
      { periods: ["daily", "all"], period: "all" },
      { periods: ["weekly", "daily"], period: "weekly" },
    ] as const;
    for (const { periods, period } of cases) {
      const board = await createBoard({ periods: [...periods] });
      const page = await api(`/v1/leaderboards/${board}`);
      const rankOf = await api(`/v1/leaderboards/${board}/rank-of?score=5`);
      for (const res of [page, rankOf]) {
        expect([periods, res.status]).toEqual([periods, 200]);
        const body = (await res.json()) as { period: string; periodKey: string };
        expect([periods, body.period]).toEqual([periods, period]);
        if (period === "all") expect(body.periodKey).toBe("all");
        else expect(body.periodKey).toMatch(/^\d{4}-W\d{2}$/);
      }
    }
  });

  it("a malformed `at` is a 400 naming `at`: too long for the schema, or not a key of the period", async () => {
    const board = await createBoard({ periods: ["all", "daily", "weekly"] });
    for (const { name, path, extra } of routes(board)) {
      await expectBadRequest(`${path}?at=${"2".repeat(17)}${extra}`, "VALIDATION_FAILED", "at");
      for (const [period, at] of [
        ["daily", "2026-13-45"],
        ["daily", "yesterday"],
        ["weekly", "2026-W99"],
        ["all", "2026-11"],
      ] as const) {
        const error = await expectBadRequest(
          `${path}?period=${period}&at=${at}${extra}`,
          "BAD_REQUEST",
          "at",
          name === "live" ? asWebSocket : {},
        );
        expect(error.message).toBe(
          name === "live"
            ? "A live feed follows the current period; read past periods with GET /v1/leaderboards/{board}?at="
            : `at="${at}" is not a ${period} period key (examples: all, 2026-11-22, 2026-W47, 2026-11, previous)`,
        );
      }
    }
  });
});

describe("numeric parameters: each bound accepted, one past it refused", () => {
  it("limit on the page and the live feed: 1 and 100 pass, 0, 101 and 2.5 are 400 naming `limit`", async () => {
    const board = await createBoard();
    for (const limit of ["1", "100"]) {
      const page = await api(`/v1/leaderboards/${board}?limit=${limit}`);
      expect([limit, page.status]).toEqual([limit, 200]);
      expect(await page.json()).toMatchObject({ board, period: "all", entries: [] });
      // Past validation, the live route asks for the upgrade.
      const live = await get(`/v1/leaderboards/${board}/live?limit=${limit}`);
      expect([limit, live.status, live.body.error.code]).toEqual([limit, 426, "UPGRADE_REQUIRED"]);
    }
    for (const limit of ["0", "101", "-1", "2.5", "ten"]) {
      await expectBadRequest(
        `/v1/leaderboards/${board}?limit=${limit}`,
        "VALIDATION_FAILED",
        "limit",
      );
      await expectBadRequest(
        `/v1/leaderboards/${board}/live?limit=${limit}`,
        "VALIDATION_FAILED",
        "limit",
      );
    }
  });

  it("n around a player: 0 and 50 pass, -1, 51 and 1.5 are 400 naming `n`", async () => {
    const board = await createBoard();
    const res = await postEvents({
      id: eventId(),
      type: "score",
      playerId: "p1",
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      boardId: board,
      score: 7,
    });
    expect(res.status).toBe(202);
    await eventually(
      async () =>
        (await api(`/v1/leaderboards/${board}/players/p1`)).status === 200 ? true : undefined,
      15_000,
      "p1's score to land",
    );
    for (const n of ["0", "50"]) {
      const around = await api(`/v1/leaderboards/${board}/players/p1/around?n=${n}`);
      expect([n, around.status]).toEqual([n, 200]);
      const body = (await around.json()) as { entries: Array<{ playerId: string; rank: number }> };
      expect(body.entries.map((e) => [e.playerId, e.rank])).toEqual([["p1", 1]]);
    }
    for (const n of ["-1", "51", "1.5", "many"]) {
      await expectBadRequest(
        `/v1/leaderboards/${board}/players/p1/around?n=${n}`,
        "VALIDATION_FAILED",
        "n",
      );
    }
  });

  it("score for rank-of: the safe-integer bounds pass; beyond them, non-integers and a missing score are 400 naming `score`", async () => {
    const board = await createBoard();
    const max = Number.MAX_SAFE_INTEGER;
    const min = Number.MIN_SAFE_INTEGER;
    for (const score of [max, min, 0]) {
      const res = await api(`/v1/leaderboards/${board}/rank-of?score=${score}`);
      expect([score, res.status]).toEqual([score, 200]);
      expect(await res.json()).toMatchObject({ board, score, rank: 1, total: 0 });
    }
    for (const score of [String(max + 1), "9007199254740993", String(min - 1), "1e300"]) {
      await expectBadRequest(
        `/v1/leaderboards/${board}/rank-of?score=${score}`,
        "VALIDATION_FAILED",
        "score",
      );
    }
    for (const score of ["1.5", "-0.25"]) {
      const error = await expectBadRequest(
        `/v1/leaderboards/${board}/rank-of?score=${score}`,
        "VALIDATION_FAILED",
        "score",
      );
      expect(error.message).toBe("score: must be an integer");
    }
    for (const query of ["?score=abc", "?score=1.5e3x", ""]) {
      await expectBadRequest(
        `/v1/leaderboards/${board}/rank-of${query}`,
        "VALIDATION_FAILED",
        "score",
      );
    }
  });
});
