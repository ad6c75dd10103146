import { describeError, log } from "../../lib/log";
import { SwrCache } from "./swr";

/**
 * The ban namespace: this isolate's copy of every banned player id, so the ingest route rejects a
 * banned player's events per item without a query per request (bans are few: one small query
 * per isolate per BANS_FRESH_MS). A ban made elsewhere reaches this isolate within that time; the
 * consumer's statement ignores a banned player's events anyway, so a late copy costs nothing but
 * an accepted event that moves no score.
 */
export const BANS_FRESH_MS = 10_000;

const KEY = "all";

const bans = new SwrCache<ReadonlySet<string>>({
  freshMs: BANS_FRESH_MS,
  staleMs: 50_000,
  negativeMs: 0,
  // Postgres unreachable: the last list keeps rejecting for an hour (the consumer still filters).
  staleIfErrorMs: 60 * 60_000,
  retryAfterMs: 5_000,
  loadTimeoutMs: 3_000,
  loadWaitMs: 3_000,
  maxPollMs: 50,
  maxEntries: 1,
  what: "loading the banned players",
});

/**
 * The banned player ids, from this isolate's copy (refreshed after the response when stale).
 * Without a usable copy and with Postgres failing, none: ingestion must not stop for the ban list.
 */
export async function bannedPlayers(
  load: () => Promise<string[]>,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<ReadonlySet<string>> {
  try {
    const loader = async () => ({ found: [{ key: KEY, value: new Set(await load()) }] });
    const resolved = await bans.resolve([KEY], loader, {
      unavailable: (failures) => {
        throw failures[0]?.error;
      },
      ...(waitUntil ? { waitUntil } : {}),
    });
    return resolved.get(KEY)?.value ?? new Set();
  } catch (error) {
    log.warn("bans: the ban list could not be read; events are let through to the consumer", {
      error: describeError(error),
    });
    return new Set();
  }
}

/** Replaces this isolate's copy after a ban or unban made here, so it applies at once. */
export function rememberBans(ids: string[]): void {
  bans.set(KEY, new Set(ids));
}
