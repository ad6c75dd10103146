import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { forgetBoards } from "../../src/stores/cache/boards";
import { ADMIN, api, query, uniqueId } from "../helpers/factories";

/** Every field of a board as POST /v1/admin/boards and GET /v1/boards/:board show it. */
const BOARD_FIELDS = [
  "cacheTtlSeconds",
  "clientWrites",
  "createdAt",
  "id",
  "maxIncrement",
  "maxScore",
  "maxScoreEventsPerMinute",
  "metadata",
  "minScore",
  "name",
  "operator",
  "periods",
  "prizes",
  "public",
  "scoreOverflow",
  "sortOrder",
  "timeZone",
  "topSize",
  "weekStart",
];

/**
 * Definitions where every field differs from its default (src/routes/boards/schema.ts), and every
 * number from every other number, so a field mapped from the wrong column shows. The two
 * booleans cannot both differ from their defaults and from each other: the two definitions take
 * them both ways.
 */
const DEFINITIONS = [
  {
    name: "Sprint ★ weekly",
    sortOrder: "asc",
    operator: "increment",
    periods: ["weekly", "daily", "monthly"],
    timeZone: "Asia/Kolkata",
    weekStart: "sunday",
    minScore: -250,
    maxScore: 99_000,
    scoreOverflow: "clamp",
    maxIncrement: 750,
    maxScoreEventsPerMinute: 42,
    topSize: 37,
    cacheTtlSeconds: 17,
    metadata: { season: 3, tags: ["ranked", "beta"], rules: { lives: 2, hardcore: true } },
    clientWrites: false,
    public: true,
    prizes: [{ fromRank: 1, toRank: 3, reward: { coins: 5 } }],
  },
  {
    name: "Latest lap",
    sortOrder: "asc",
    operator: "latest",
    periods: ["monthly", "all"],
    timeZone: "America/Argentina/Buenos_Aires",
    weekStart: "sunday",
    minScore: 5,
    maxScore: 6_000,
    scoreOverflow: "clamp",
    maxScoreEventsPerMinute: 9,
    topSize: 250,
    cacheTtlSeconds: 120,
    metadata: { track: "Monza" },
    clientWrites: true,
    public: false,
    prizes: [{ topPercent: 10, reward: "badge" }],
  },
] as const;

async function postBoard(body: Record<string, unknown>) {
  const res = await api("/v1/admin/boards", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** GET /v1/boards/:board with the admin key (it reads private boards too). */
async function getBoard(id: string) {
  const res = await api(`/v1/boards/${id}`, { headers: { authorization: ADMIN.authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("POST /v1/admin/boards", () => {
  it("creating a board twice with one id answers 409 CONFLICT and leaves the first one as it was", async () => {
    const id = uniqueId("twice");
    const first = await postBoard({ id, name: "First", operator: "best", topSize: 10 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id, name: "First", operator: "best", topSize: 10 });

    for (const again of [
      { id, name: "First", operator: "best", topSize: 10 },
      { id, name: "Second", operator: "increment", sortOrder: "asc", topSize: 20 },
    ]) {
      const res = await postBoard(again);
      expect([again.name, res.status, res.body]).toEqual([
        again.name,
        409,
        {
          error: {
            code: "CONFLICT",
            message: `Board "${id}" already exists; choose another id, or change it with PATCH /v1/admin/boards/:board`,
            requestId: expect.any(String),
          },
        },
      ]);
    }

    const rows = await query<{
      name: string;
      operator: string;
      sort_order: string;
      top_size: number;
    }>(sql`select name, operator, sort_order, top_size from boards where id = ${id}`);
    expect(rows).toEqual([{ name: "First", operator: "best", sort_order: "desc", top_size: 10 }]);
    forgetBoards();
    expect(await getBoard(id)).toEqual({ status: 200, body: first.body });
  });
});

describe("GET /v1/boards/:board", () => {
  it.each(DEFINITIONS)(
    "returns every field as created ($operator, clientWrites $clientWrites, public $public)",
    async (definition) => {
      const id = uniqueId("fields");
      const before = Date.now();
      const created = await postBoard({ id, ...definition });
      const after = Date.now();
      expect(created.status).toBe(201);
      const createdAt = created.body.createdAt as string;
      expect(new Date(createdAt).toISOString()).toBe(createdAt);
      // The database's clock, a little off the worker's at most.
      expect(Date.parse(createdAt)).toBeGreaterThanOrEqual(before - 5_000);
      expect(Date.parse(createdAt)).toBeLessThanOrEqual(after + 5_000);

      const maxIncrement = "maxIncrement" in definition ? definition.maxIncrement : undefined;
      const expected = { id, ...definition, maxIncrement, createdAt };
      const fields = BOARD_FIELDS.filter((f) => f !== "maxIncrement" || maxIncrement !== undefined);
      expect(created.body).toEqual(expected);
      expect(Object.keys(created.body).sort()).toEqual(fields);

      // From this isolate's cache (the row the insert returned), then loaded again from Postgres.
      for (const how of ["cached", "loaded"]) {
        if (how === "loaded") forgetBoards();
        const read = await getBoard(id);
        expect([how, read.status, read.body]).toEqual([how, 200, expected]);
        expect(Object.keys(read.body).sort()).toEqual(fields);
      }
    },
  );
});
