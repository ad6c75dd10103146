/**
 * The object's SQLite storage: one row per held entry plus a small key/value table for the board
 * config, total, completeness and rebuild bookkeeping. It exists so an evicted or restarted
 * object comes back with its top-N without asking Postgres.
 *
 * Every write here is synchronous; the caller groups a call's writes in one `transactionSync`,
 * so memory and storage change together or not at all. One statement per row keeps each well
 * under the 100-bound-parameter limit of Durable Object SQLite.
 */
import type { SortOrder } from "../../domain";
import type { BoardPeriod, Metadata } from "../../domain/leaderboard";
import type { HeldEntry } from "./sorted-entries";
import { toSortScore } from "./sorted-entries";

/** Bumped when the tables change shape; older layouts are dropped (they are rebuildable). */
const SCHEMA_VERSION = "1";

type EntryRow = {
  player_id: string;
  score: number;
  reached_at: number;
  version: number;
  display_name: string | null;
  metadata: string | null;
};

/** Everything but the entries, as last committed. */
export interface StoredMeta {
  board: BoardPeriod | null;
  total: number;
  complete: boolean;
  lastRebuildAt: number | null;
  /** When the object drops its storage (see BoardPeriod.archiveAt); null: never. */
  archiveAt: number | null;
  /** The statement time of the exact count `total` was last set from (CountedTotal.at); 0: none. */
  totalAt: number;
  /** The newest batch applied (its Postgres time, epoch ms); 0: none yet. */
  writtenAt: number;
}

function parseMetadata(text: string | null): Metadata | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Metadata)
      : null;
  } catch {
    return null;
  }
}

/** Typed access to the two tables; knows nothing about ranking rules. */
export class SqliteStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Creates the tables, replacing a layout from an older schema version. */
  migrate(): void {
    this.sql.exec("create table if not exists meta (key text primary key, value text not null)");
    const version = this.#getMeta("schema_version");
    if (version === SCHEMA_VERSION) return;
    // Any other layout (unversioned, or older) is dropped: its rows are a cache of Postgres.
    this.sql.exec("drop table if exists entries");
    this.sql.exec(
      `create table entries (
         player_id text primary key,
         score integer not null,
         reached_at integer not null,
         version integer not null,
         display_name text,
         metadata text
       )`,
    );
    this.#setMeta("schema_version", SCHEMA_VERSION);
  }

  readMeta(): StoredMeta {
    const board = this.#getMeta("board");
    const total = this.#getMeta("total");
    const complete = this.#getMeta("complete");
    const lastRebuildAt = this.#getMeta("last_rebuild_at");
    const archiveAt = this.#getMeta("archive_at");
    const totalAt = this.#getMeta("total_at");
    const writtenAt = this.#getMeta("written_at");
    return {
      board: board === null ? null : (JSON.parse(board) as BoardPeriod),
      total: total === null ? 0 : Number(total),
      complete: complete !== "0",
      lastRebuildAt: lastRebuildAt === null ? null : Number(lastRebuildAt),
      archiveAt: archiveAt === null ? null : Number(archiveAt),
      totalAt: totalAt === null ? 0 : Number(totalAt),
      writtenAt: writtenAt === null ? 0 : Number(writtenAt),
    };
  }

  /** All held entries, unsorted (the caller sorts with the board comparator). */
  readEntries(sortOrder: SortOrder): HeldEntry[] {
    const rows = this.sql
      .exec<EntryRow>(
        "select player_id, score, reached_at, version, display_name, metadata from entries",
      )
      .toArray();
    return rows.map((row) => ({
      playerId: row.player_id,
      score: row.score,
      sortScore: toSortScore(sortOrder, row.score),
      reachedAt: row.reached_at,
      version: row.version,
      displayName: row.display_name,
      metadata: parseMetadata(row.metadata),
    }));
  }

  writeBoard(board: BoardPeriod): void {
    const { boardId, periodKey, sortOrder, topSize } = board;
    this.#setMeta("board", JSON.stringify({ boardId, periodKey, sortOrder, topSize }));
  }

  writeTotal(total: number, at?: number): void {
    this.#setMeta("total", String(total));
    if (at !== undefined) this.#setMeta("total_at", String(at));
  }

  writeWrittenAt(at: number): void {
    this.#setMeta("written_at", String(at));
  }

  writeComplete(complete: boolean): void {
    this.#setMeta("complete", complete ? "1" : "0");
  }

  writeLastRebuildAt(at: number): void {
    this.#setMeta("last_rebuild_at", String(at));
  }

  writeArchiveAt(at: number | null): void {
    if (at === null) this.sql.exec("delete from meta where key = 'archive_at'");
    else this.#setMeta("archive_at", String(at));
  }

  /** Applies a row-level difference: upserts the given entries, deletes the removed players. */
  writeEntries(upserts: Iterable<HeldEntry>, removals: Iterable<string>): void {
    for (const playerId of removals)
      this.sql.exec("delete from entries where player_id = ?", playerId);
    for (const e of upserts) {
      this.sql.exec(
        `insert into entries (player_id, score, reached_at, version, display_name, metadata)
         values (?, ?, ?, ?, ?, ?)
         on conflict (player_id) do update set score = excluded.score,
           reached_at = excluded.reached_at, version = excluded.version,
           display_name = excluded.display_name, metadata = excluded.metadata`,
        e.playerId,
        e.score,
        e.reachedAt,
        e.version,
        e.displayName,
        e.metadata === null ? null : JSON.stringify(e.metadata),
      );
    }
  }

  #getMeta(key: string): string | null {
    const rows = this.sql
      .exec<{ value: string }>("select value from meta where key = ?", key)
      .toArray();
    return rows[0]?.value ?? null;
  }

  #setMeta(key: string, value: string): void {
    this.sql.exec(
      "insert into meta (key, value) values (?, ?) " +
        "on conflict (key) do update set value = excluded.value",
      key,
      value,
    );
  }
}
