import { and, eq, isNull } from "drizzle-orm";
import type { Scope } from "../../domain";
import { BoundedMap } from "../../lib/bounded-map";
import type { Database } from "../../stores/postgres/client";
import { type ApiKey, apiKeys } from "../../stores/postgres/schema";

/**
 * Server keys: `eb_<8 chars>_<43 chars>`, the first part a public prefix that finds the row, the
 * rest 256 random bits. Verified by one SHA-256 and one row lookup, and that row is kept per
 * isolate for KEY_CACHE_MS, so the hot path queries nothing and a revocation reaches every
 * isolate within that time.
 */
export const KEY_CACHE_MS = 30_000;
/** How long past its cache lifetime a known key is still trusted while Postgres cannot be asked. */
const KEY_STALE_IF_ERROR_MS = 60 * 60_000;
/** Unknown prefixes are remembered for less time: a key created a moment ago must work soon. */
const UNKNOWN_CACHE_MS = 5_000;
const PREFIX_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789";
const KEY_PATTERN = /^(eb_[a-z2-9]{8})_([A-Za-z0-9_-]{43})$/;

export interface IssuedKey {
  id: string;
  key: string;
  prefix: string;
  hash: string;
  signingKey: string;
}

/** A new key and what is stored of it; the key itself is returned to the caller once, never stored. */
export async function issueKey(): Promise<IssuedKey> {
  const prefixBytes = crypto.getRandomValues(new Uint8Array(8));
  const prefix = `eb_${[...prefixBytes].map((b) => PREFIX_ALPHABET[b % PREFIX_ALPHABET.length]).join("")}`;
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const key = `${prefix}_${secret}`;
  return {
    id: `key_${crypto.randomUUID().replaceAll("-", "")}`,
    key,
    prefix,
    hash: await sha256Hex(key),
    signingKey: await signingKeyOf(key),
  };
}

/**
 * The HMAC key of requests signed with this key: SHA-256 of a fixed label and the key, so a client
 * derives it from the key it holds, and the server stores it apart from the lookup hash.
 */
export async function signingKeyOf(key: string): Promise<string> {
  return sha256Hex(`edgeboard-request-signing\u0000${key}`);
}

/** The prefix of a well-formed key, or null (then it is no server key: maybe a token). */
export function keyPrefixOf(token: string): string | null {
  return KEY_PATTERN.exec(token)?.[1] ?? null;
}

export interface VerifiedKey {
  id: string;
  prefix: string;
  scopes: Scope[];
  requireSignature: boolean;
  signingKey: string;
}

type Cached = { row: ApiKey | null; until: number };
const cache = new BoundedMap<string, Cached>(10_000);
/** Keys presented and verified in this isolate, by the presented text. */
const verified = new BoundedMap<string, VerifiedKey>(10_000);

/**
 * The live key `token` is, or null (unknown, revoked, or a wrong secret). The hash comparison is
 * constant-time, so response timing says nothing about how much of a guess was right.
 */
export async function verifyServerKey(db: () => Database, token: string, now = Date.now()): Promise<VerifiedKey | null> {
  const prefix = keyPrefixOf(token);
  if (!prefix) return null;
  let entry = cache.get(prefix);
  // A key this isolate verified, whose row it still holds: no digest again (a revocation here
  // drops the row, and the row's own lifetime bounds everything else).
  const known = verified.get(token);
  if (known && entry?.row?.id === known.id && entry.until > now) return known;
  if (!entry || entry.until <= now) {
    try {
      const [row] = await db()
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt)))
        .limit(1);
      entry = { row: row ?? null, until: now + (row ? KEY_CACHE_MS : UNKNOWN_CACHE_MS) };
      cache.set(prefix, entry);
    } catch (error) {
      // Postgres unreachable: a key this isolate knew keeps working for a while (events are
      // queued, not written, so game servers keep sending through an outage); others get a 503.
      if (!entry?.row || now - entry.until > KEY_STALE_IF_ERROR_MS) throw error;
    }
  }
  const row = entry.row;
  if (!row || !sameDigest(await sha256Hex(token), row.hash)) return null;
  const key = {
    id: row.id,
    prefix: row.prefix,
    scopes: row.scopes as Scope[],
    requireSignature: row.requireSignature,
    signingKey: row.signingKey,
  };
  verified.set(token, key);
  return key;
}

/** Drops this isolate's copy of a key (after a revocation here; other isolates expire theirs). */
export function forgetServerKey(prefix: string): void {
  cache.delete(prefix);
}

const encoder = new TextEncoder();

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Constant-time equality of two secrets of any length: both are hashed first, so the comparison
 * always runs over 32 bytes and leaks neither content nor length.
 */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  let want = expectedDigests.get(expected);
  if (want === undefined) {
    want = await sha256Hex(expected);
    expectedDigests.set(expected, want);
  }
  return sameDigest(await sha256Hex(given), want);
}

/** Digests of the configured secrets (the admin key), computed once per isolate. */
const expectedDigests = new BoundedMap<string, string>(8);

function sameDigest(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
