import { neon } from "@neondatabase/serverless";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { counters } from "../../../src/lib/metrics";
import {
  localQueryEndpoint,
  openDatabase,
  queryDatabase,
} from "../../../src/stores/postgres/client";
import { isSchemaMissing, sqlState } from "../../../src/stores/postgres/errors";
import { boards } from "../../../src/stores/postgres/schema";
import { ADMIN, api, createBoard, query, testEnv, uniqueId } from "../../helpers/factories";

/**
 * Request paths query over Neon's HTTP endpoint (queryDatabase); queue batches and cron jobs over
 * WebSocket sessions (openDatabase). Both must give the same answers, and the same errors, for
 * everything this code reads; locally the HTTP endpoint is the bridge's /sql, in production Neon's.
 */
async function overHttp<T extends Record<string, unknown>>(
  statement: ReturnType<typeof sql>,
): Promise<T[]> {
  return (await queryDatabase(testEnv).execute<T>(statement)).rows;
}

const endpoint = () => localQueryEndpoint(testEnv.NEON_WS_PROXY ?? "");

describe("HTTP queries and WebSocket sessions", () => {
  it("return the same rows for every kind of column this code reads", async () => {
    const statement = sql`
      select 1::int as int4, 9007199254740991::bigint as int8, -12.50::numeric(10, 2) as num, 'héllo ☃'::text as txt,
             true as bool, null::text as nothing, '2026-11-22T10:11:12.345Z'::timestamptz as ts, '2026-11-22'::date as day,
             '{"a": [1, 2], "b": {"c": null}}'::jsonb as doc, '[1, "x"]'::jsonb as list, array['all', 'weekly']::text[] as arr,
             array[1, 2]::bigint[] as bigs, ${"a param with 'quotes'"}::text as param, ${42}::int as num_param`;
    const [viaHttp] = await overHttp(statement);
    const [viaSessions] = await query(statement);
    expect(viaHttp).toEqual(viaSessions);
    expect(viaHttp).toMatchObject({
      int4: 1,
      int8: "9007199254740991",
      txt: "héllo ☃",
      bool: true,
      nothing: null,
    });
    expect(viaHttp?.doc).toEqual({ a: [1, 2], b: { c: null } });
    expect(viaHttp?.arr).toEqual(["all", "weekly"]);
  });

  it("map typed drizzle selects the same way (arrays, jsonb, timestamps as Dates)", async () => {
    const id = await createBoard({ periods: ["all", "daily"] });
    const select = (db: ReturnType<typeof queryDatabase>) =>
      db.select().from(boards).where(eq(boards.id, id));
    const [viaHttp] = await select(queryDatabase(testEnv));
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      const [viaSessions] = await select(handle.db);
      expect(viaHttp).toEqual(viaSessions);
      expect(viaHttp?.periods).toEqual(["all", "daily"]);
      expect(viaHttp?.createdAt).toBeInstanceOf(Date);
    } finally {
      await handle.close();
    }
  });

  it("carry the SQLSTATE of a Postgres error over HTTP, so an unmigrated database is told apart", async () => {
    const missing = await overHttp(
      sql`select * from no_such_table_${sql.raw(uniqueId("t").replace(/-/g, "_"))}`,
    ).catch((e) => e);
    expect(sqlState(missing)).toBe("42P01");
    expect(isSchemaMissing(missing)).toBe(true);
    const badInput = await overHttp(sql`select ${"not a number"}::int as n`).catch((e) => e);
    expect(sqlState(badInput)).toBe("22P02");
    expect(isSchemaMissing(badInput)).toBe(false);
  });

  it("run a batch as one transaction: a failing statement rolls back the ones before it", async () => {
    queryDatabase(testEnv); // points the driver at the local endpoint
    const http = neon(testEnv.DATABASE_URL);
    const kept = uniqueId("player");
    const lost = uniqueId("player");
    const results = await http.transaction(
      [
        http`insert into players (id) values (${kept}) returning id`,
        http`select count(*)::int as n from players where id = ${kept}`,
      ],
      { isolationLevel: "Serializable" },
    );
    expect(results).toEqual([[{ id: kept }], [{ n: 1 }]]);
    const failed = await http
      .transaction([
        http`insert into players (id) values (${lost})`,
        http`insert into players (id) values (${kept})`,
      ])
      .catch((e) => e);
    expect(sqlState(failed)).toBe("23505");
    expect(
      await query(sql`select id from players where id in (${kept}, ${lost}) order by id`),
    ).toEqual([{ id: kept }]);
    const readOnly = await http
      .transaction([http`insert into players (id) values (${lost})`], { readOnly: true })
      .catch((e) => e);
    expect(sqlState(readOnly)).toBe("25006");
  });
});

describe("the local HTTP endpoint", () => {
  it("refuses a malformed request with a 400 that says what to send", async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(endpoint(), { method: "POST", headers, body });
    const neonHeaders = {
      "neon-connection-string": testEnv.DATABASE_URL,
      "neon-raw-text-output": "true",
      "neon-array-mode": "true",
    };
    const cases = [
      {
        headers: {},
        body: JSON.stringify({ query: "select 1", params: [] }),
        says: /Neon-Connection-String/,
      },
      { headers: neonHeaders, body: "not json", says: /not JSON/ },
      {
        headers: neonHeaders,
        body: JSON.stringify({ query: "select $1", params: [{ x: 1 }] }),
        says: /params must be/,
      },
      { headers: neonHeaders, body: JSON.stringify({ queries: [] }), says: /at least one/ },
      {
        headers: { ...neonHeaders, "neon-array-mode": "false" },
        body: JSON.stringify({ query: "select 1" }),
        says: /Array-Mode/,
      },
    ];
    for (const { headers, body, says } of cases) {
      const res = await post(headers, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(says);
    }
  });

  it("names the database it cannot reach, and says to start it", async () => {
    queryDatabase(testEnv);
    const error = await neon("postgres://postgres@127.0.0.1:1/nowhere")`select 1`.catch((e) => e);
    expect(String(error?.message)).toMatch(
      /could not reach Postgres at 127\.0\.0\.1:1 .*is it running\?/,
    );
  });
});

describe("request paths", () => {
  it("query over HTTP and open no WebSocket session", async () => {
    const before = { ...counters };
    const res = await api("/v1/admin/ingest/stats", { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(counters.postgresQueries - before.postgresQueries).toBeGreaterThan(0);
    expect(counters.postgresConnections - before.postgresConnections).toBe(0);
  });
});
