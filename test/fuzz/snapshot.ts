/**
 * Evidence that the fuzz wrote nothing. Other test files write to the same database while the fuzz
 * runs, so whole-table counts would move under it; instead:
 *  - the rows the fuzz owns (its boards, their scores and events, its player's, its key) are
 *    counted and checksummed before and after, and must be identical;
 *  - rows written anywhere during the run must not carry a string the fuzz sent (a board, key,
 *    player or event id it made up);
 *  - the Durable Object pages of its pre-existing boards must be unchanged.
 */
import { type SQL, sql } from "drizzle-orm";
import { leaderboardObjectName } from "../../src/domain/board-period-key";
import { query, testEnv } from "../helpers/factories";

export interface Owned {
  boards: string[];
  players: string[];
  keyIds: string[];
}

const list = (values: string[]) =>
  sql`(${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )})`;

async function digest(table: string, where: SQL): Promise<string> {
  const [row] = await query<{ n: string; sum: string | null }>(
    sql`select count(*) as n, md5(string_agg(t::text, '|' order by t::text)) as sum from ${sql.identifier(table)} t where ${where}`,
  );
  return `${table} ${row?.n ?? "?"} ${row?.sum ?? "-"}`;
}

/** Count and checksum of every row the fuzz owns, table by table. */
export async function ownedRows(owned: Owned): Promise<string[]> {
  const boards = list(owned.boards);
  const players = list(owned.players);
  return Promise.all([
    digest("boards", sql`id in ${boards}`),
    digest("api_keys", sql`id in ${list(owned.keyIds)}`),
    digest("scores", sql`board_id in ${boards} or player_id in ${players}`),
    digest("events", sql`board_id in ${boards} or player_id in ${players}`),
  ]);
}

/** The identifying strings of rows written since `since`, table by table. */
async function writtenSince(
  since: Date,
): Promise<Array<{ t: string; a: string; b: string | null }>> {
  return query<{ t: string; a: string; b: string | null }>(sql`
    select 'boards' as t, id as a, name as b from boards where created_at >= ${since} or updated_at >= ${since}
    union all select 'api_keys', id, name from api_keys where created_at >= ${since} or revoked_at >= ${since}
    union all select 'scores', board_id, player_id from scores where updated_at >= ${since}
    union all select 'events', event_id, player_id from events where received_at >= ${since}
  `);
}

/**
 * Strings the fuzz sent that would identify a row it wrote. Short ones are left out: other tests
 * use them too.
 */
export class SentStrings {
  readonly #seen = new Set<string>();

  static key(value: string): string {
    return value.slice(0, 256).toLowerCase();
  }

  addFrom(value: unknown, depth = 0): void {
    if (typeof value === "string") {
      if (value.length >= 8) this.#seen.add(SentStrings.key(value));
    } else if (value !== null && typeof value === "object" && depth < 8) {
      for (const inner of Object.values(value)) this.addFrom(inner, depth + 1);
    }
  }

  has(value: string | null): boolean {
    return value !== null && this.#seen.has(SentStrings.key(value));
  }
}

/** Rows written since `since` that carry a string the fuzz sent: each is a write by the fuzz. */
export async function rowsFromFuzz(since: Date, sent: SentStrings): Promise<string[]> {
  const rows = await writtenSince(since);
  return rows.filter((r) => sent.has(r.a) || sent.has(r.b)).map((r) => `${r.t}: ${r.a} / ${r.b}`);
}

/**
 * The first page of each board's "all" object, straight from the Durable Object (no cache in
 * between).
 */
export async function objectPages(boards: string[]): Promise<string[]> {
  return Promise.all(
    boards.map(async (board) => {
      const stub = testEnv.LEADERBOARD.getByName(leaderboardObjectName(board, "all"));
      return `${board}: ${JSON.stringify(await stub.page({ limit: 100 }))}`;
    }),
  );
}
