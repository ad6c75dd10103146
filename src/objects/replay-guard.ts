import { DurableObject } from "cloudflare:workers";
import type { AppBindings } from "../env";

/**
 * Ids are request signatures (64 hex digits); the bound only stops a caller's mistake from bloating
 * storage.
 */
const MAX_ID_LENGTH = 128;
/** Signatures need minutes; a day bounds what a wrong argument could pin in storage. */
const MAX_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A sweep waits this long after the first expiry it is for, so one alarm clears a minute of rows,
 * not one each.
 */
const SWEEP_DELAY_MS = 60_000;

/**
 * Remembers ids for a while, for replay protection that every PoP shares: one object per shard
 * (see stores/objects/replay-guard.ts), a row per id in its SQLite storage. A call's SQL runs
 * synchronously between awaits, so of two concurrent offers of one id exactly one is first; the
 * reply waits for the row to be committed (output gate). An alarm deletes expired rows, so
 * storage holds about one signature window of traffic.
 */
export class ReplayGuard extends DurableObject<AppBindings> {
  /** When the sweep alarm is set for (mirrors storage, saving a getAlarm per call); null: none. */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: AppBindings) {
    super(ctx, env);
    // WITHOUT ROWID and no index on expires_at: each id is one written row (writes are what is
    // billed), and the sweep's scan reads only rows (far cheaper) about once a minute.
    ctx.storage.sql.exec(
      "create table if not exists seen " +
        "(id text primary key, expires_at integer not null) without rowid",
    );
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** True the first time `id` is offered within `ttlMs` of an earlier offer; false on a repeat. */
  async firstSeen(id: string, ttlMs: number): Promise<boolean> {
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw new RangeError(`ReplayGuard: id must be a string of 1..${MAX_ID_LENGTH} characters`);
    }
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TTL_MS) {
      throw new RangeError(`ReplayGuard: ttlMs must be an integer in 1..${MAX_TTL_MS}`);
    }
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const [row] = sql
      .exec<{ expires_at: number }>("select expires_at from seen where id = ?", id)
      .toArray();
    if (row !== undefined && row.expires_at > now) return false;
    const expiresAt = now + ttlMs;
    sql.exec("insert or replace into seen (id, expires_at) values (?, ?)", id, expiresAt);
    await this.#sweepAfter(expiresAt);
    return true;
  }

  /** Deletes expired rows, then schedules the next sweep for the earliest row left. */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    this.#alarmAt = null;
    sql.exec("delete from seen where expires_at <= ?", Date.now());
    const { next } = sql
      .exec<{ next: number | null }>("select min(expires_at) as next from seen")
      .one();
    if (next !== null) await this.#sweepAfter(next);
  }

  /** Sets a sweep unless one is pending: while rows are left, each sweep sets the next. */
  async #sweepAfter(expiresAt: number): Promise<void> {
    if (this.#alarmAt !== null) return;
    const at = expiresAt + SWEEP_DELAY_MS;
    this.#alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
