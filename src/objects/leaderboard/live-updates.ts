/**
 * The board object's side of the live feed: it holds no sockets. Relays (objects/live-relay.ts)
 * subscribe, and each throttled update of the top MAX_LIVE_LIMIT rows goes to each subscribed
 * relay as one RPC, whatever the number of sockets behind it (docs/design.md, "Live feed").
 *
 * Throttling: at most one push per BROADCAST_INTERVAL_MS per object. A change inside the quiet
 * period arms one short timer that pushes the latest state when the period ends, so bursts
 * coalesce and the last state of a burst is always pushed. The timer and the last-sent time are
 * memory only: if the object hibernates or is evicted, the next change simply pushes at once.
 * The set of relays is in SQLite (`live_relays`), so it survives eviction; a relay left with
 * nothing to serve answers a push with false and is dropped, so a relay reset by a deploy does
 * not stay subscribed.
 */
import type { RankedEntryView } from "../../domain/leaderboard";
import { type LiveWindow, MAX_LIVE_LIMIT } from "../../domain/live-protocol";
import type { AppBindings } from "../../env";
import { describeError, log } from "../../lib/log";
import { liveRelayByName } from "../../stores/objects/live-relay";

/** At most one push per object per this many ms. */
const BROADCAST_INTERVAL_MS = 250;

/** The current top window, as the object sees it. */
export type WindowReader = (limit: number) => {
  entries: RankedEntryView[];
  total: number;
  complete: boolean;
};

/** Subscribed relays and the push throttle. */
export class LiveUpdates {
  #lastSentAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Lowest changed index not pushed yet; Infinity when nothing is pending. */
  #pendingFrom = Number.POSITIVE_INFINITY;
  /** The last seq issued (see LiveWindow.seq). */
  #seq = 0;
  #relays = new Set<string>();
  #pushes = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: AppBindings,
    private readonly readWindow: WindowReader,
  ) {
    this.load();
  }

  /** (Re)creates the table and reads the relays back (on start and after the storage is wiped). */
  load(): void {
    const sql = this.ctx.storage.sql;
    sql.exec("create table if not exists live_relays (name text primary key)");
    this.#relays = new Set(
      sql
        .exec<{ name: string }>("select name from live_relays")
        .toArray()
        .map((r) => r.name),
    );
  }

  /** Subscribed relays. */
  get relayCount(): number {
    return this.#relays.size;
  }

  /** Windows pushed to relays since this instance started (one per relay per update). */
  get pushCount(): number {
    return this.#pushes;
  }

  /** Adds a relay (idempotent) and returns the current window under a fresh seq. */
  attach(name: string): LiveWindow {
    if (!this.#relays.has(name)) {
      this.ctx.storage.sql.exec("insert or ignore into live_relays (name) values (?)", name);
      this.#relays.add(name);
    }
    return { seq: this.#nextSeq(), ...this.readWindow(MAX_LIVE_LIMIT) };
  }

  detach(name: string): void {
    if (!this.#relays.delete(name)) return;
    this.ctx.storage.sql.exec("delete from live_relays where name = ?", name);
  }

  /**
   * Records that rows from `firstChangedIndex` on changed; pushes now or at the end of the quiet
   * period. Cheap when no relay listens or the change is below the largest window.
   */
  notify(firstChangedIndex: number): void {
    if (!Number.isFinite(firstChangedIndex) || firstChangedIndex >= MAX_LIVE_LIMIT) return;
    if (this.#relays.size === 0) return;
    this.#pendingFrom = Math.min(this.#pendingFrom, firstChangedIndex);
    if (this.#timer !== undefined) return;
    const wait = this.#lastSentAt + BROADCAST_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.#flush();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, wait);
  }

  /**
   * Tells every relay the period is archived (they send their clients a `bye` with a jittered
   * reconnect delay and close) and forgets them; nothing pending is sent.
   */
  async closeAll(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pendingFrom = Number.POSITIVE_INFINITY;
    const names = [...this.#relays];
    await Promise.allSettled(
      names.map((name) => liveRelayByName(this.env, name).close("archived")),
    );
    for (const name of names) this.detach(name);
  }

  /** Strictly increasing, and at least the wall clock, so a restarted object never reuses one. */
  #nextSeq(): number {
    this.#seq = Math.max(this.#seq + 1, Date.now());
    return this.#seq;
  }

  #flush(): void {
    const from = this.#pendingFrom;
    this.#pendingFrom = Number.POSITIVE_INFINITY;
    if (!Number.isFinite(from) || this.#relays.size === 0) return;
    this.#lastSentAt = Date.now();
    const window: LiveWindow = { seq: this.#nextSeq(), ...this.readWindow(MAX_LIVE_LIMIT) };
    for (const name of this.#relays) {
      this.#pushes += 1;
      liveRelayByName(this.env, name)
        .push(window)
        .then(
          (keep) => {
            if (!keep) this.detach(name);
          },
          (error: unknown) => {
            log.warn("leaderboard-do: live push failed", {
              relay: name,
              error: describeError(error),
            });
          },
        );
    }
  }
}
