import type { Scope } from "../../domain";
import type { ApiKey } from "../postgres/schema";
import { ExpiringMemory, MemoryTier } from "./memory";
import { SwrCache } from "./swr";

/**
 * The credential namespace: what the access layer keeps per isolate so that a request presenting
 * a known credential queries nothing. Server key rows by their public prefix, through the core
 * (one query per prefix at a time, known keys kept through an outage for a while), and
 * credentials already verified, by their presented text, so a client repeating its credential
 * costs a map lookup, not a digest or a signature check.
 */

/** How long a key row is trusted: a revocation elsewhere reaches this isolate within it. */
export const KEY_ROW_FRESH_MS = 30_000;

const keyRows = new SwrCache<ApiKey>({
  freshMs: KEY_ROW_FRESH_MS,
  // A revoked key must stop working once its row is no longer fresh: nothing stale is served.
  staleMs: 0,
  // Unknown prefixes for less time: a key created a moment ago must work soon.
  negativeMs: 5_000,
  // Known keys keep working for an hour past their lifetime while Postgres cannot be asked
  // (events are queued, not written, so game servers keep sending through an outage).
  staleIfErrorMs: KEY_ROW_FRESH_MS + 60 * 60_000,
  retryAfterMs: 0,
  loadWaitMs: 5_000,
  maxPollMs: 20,
  maxEntries: 10_000,
  what: "loading a server key",
});

const rethrow = (failures: Array<{ error: unknown }>): never => {
  throw failures[0]?.error;
};

type RowLoad = () => Promise<ApiKey | null>;

/**
 * The live row of the key with `prefix`, or null when there is none; `load` asks Postgres.
 * Throws the load's error when Postgres cannot be asked and no copy is usable.
 */
export async function serverKeyRow(prefix: string, load: RowLoad, now = Date.now()) {
  const loader = async () => {
    const row = await load();
    return { found: row ? [{ key: prefix, value: row }] : [] };
  };
  const resolved = await keyRows.resolve([prefix], loader, { now, unavailable: rethrow });
  return resolved.get(prefix)?.value ?? null;
}

/** Drops this isolate's copy of a key row (after a revocation here). */
export function forgetServerKeyRow(prefix: string): void {
  keyRows.delete(prefix);
}

/** A server key as a verified request uses it. */
export interface VerifiedServerKey {
  id: string;
  prefix: string;
  scopes: Scope[];
  requireSignature: boolean;
  signingKey: string;
}

/** Keys presented and verified here, by the presented text; valid while their row is. */
const verifiedKeys = new MemoryTier<VerifiedServerKey>(10_000);

/**
 * A key this isolate verified from `text`, while it still holds the key's row fresh: no digest
 * again (a revocation here drops the row, and the row's own lifetime bounds everything else).
 */
export function verifiedServerKey(text: string, now = Date.now()): VerifiedServerKey | undefined {
  const known = verifiedKeys.get(text);
  if (!known) return undefined;
  return keyRows.peek(known.prefix, now)?.value?.id === known.id ? known : undefined;
}

export function rememberVerifiedServerKey(text: string, key: VerifiedServerKey): void {
  verifiedKeys.set(text, key);
}

/** A player token as verified: whose it is, and its expiry (epoch ms). */
export interface VerifiedToken {
  playerId: string;
  expiresAt: number;
}

/** Tokens verified here, by their text, until they expire. */
const verifiedTokens = new ExpiringMemory<VerifiedToken>(10_000);

export function verifiedPlayerToken(text: string, now = Date.now()): VerifiedToken | undefined {
  return verifiedTokens.get(text, now);
}

export function rememberVerifiedPlayerToken(text: string, token: VerifiedToken): void {
  verifiedTokens.set(text, token, token.expiresAt);
}
