import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { movedRowsQuery } from "../../../src/services/projection/rank-reload";
import { openDatabase } from "../../../src/stores/postgres/client";
import { type OwnDatabase, ownDatabase } from "../../helpers/own-database";

/** Every index a plan node (or one beneath it) reads. */
function indexesOf(node: Record<string, unknown>): string[] {
  const own = typeof node["Index Name"] === "string" ? [node["Index Name"]] : [];
  const children = (node.Plans as Array<Record<string, unknown>> | undefined) ?? [];
  return [...own, ...children.flatMap(indexesOf)];
}

// The planner's choice depends on the table's statistics: a database of its own holds only the
// seeded rows, so other files' scores cannot change the plan.
describe("the reload's catch-up scan (a database of its own; real Postgres only)", () => {
  let own: OwnDatabase | null = null;
  beforeAll(async () => {
    own = await ownDatabase("moved_rows_plan");
  });
  afterAll(async () => {
    await own?.drop();
  });

  it("reads scores_updated_idx, not the whole board-period, for rows moved in the last minute", async ({
    skip,
  }) => {
    if (!own) return skip("embedded PGlite has no second database: set DATABASE_URL");
    const handle = openDatabase(own.env, { maxConnections: 1 });
    try {
      // A large board-period written two days ago, 50 of its records moved just now, and a
      // neighbour board so the index has more than one board-period in it.
      await handle.db.execute(sql`
        insert into scores (board_id, period_key, player_id, score, sort_score, reached_at, updated_at)
        select b, 'all', 'p' || lpad(g::text, 6, '0'), g, -g, now() - interval '2 days',
               now() - interval '2 days' + g * interval '1 millisecond'
        from generate_series(1, 20000) g, (values ('big'), ('other')) v(b)`);
      await handle.db.execute(sql`update scores set updated_at = now()
        where board_id = 'big' and player_id in (
          select 'p' || lpad((g * 397)::text, 6, '0') from generate_series(1, 50) g)`);
      await handle.db.execute(sql`analyze scores`);

      const since = Date.now() - 60_000;
      // The first chunk, then a later one (keyset on player id).
      for (const after of [undefined, "p010000"]) {
        const result = await handle.db.execute<{ "QUERY PLAN": Array<{ Plan: object }> }>(
          sql`explain (format json) ${movedRowsQuery("big", "all", since, after)}`,
        );
        const plan = result.rows[0]?.["QUERY PLAN"][0]?.Plan as Record<string, unknown>;
        expect(indexesOf(plan), JSON.stringify(plan)).toContain("scores_updated_idx");
        expect(indexesOf(plan)).not.toContain("scores_pkey");
      }
      const moved = await handle.db.execute(movedRowsQuery("big", "all", since, undefined));
      expect(moved.rows).toHaveLength(50);
    } finally {
      await handle.close();
    }
  });
});
