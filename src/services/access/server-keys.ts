import { and, eq, isNull } from "drizzle-orm";
import type { Scope } from "../../domain";
import { BoundedMap } from "../../lib/bounded-map";
import {
  forgetServerKeyRow,
  KEY_ROW_FRESH_MS,
  rememberVerifiedServerKey,
  serverKeyRow,
  type VerifiedServerKey,
  verifiedServerKey,
} from "../../stores/cache/credentials";
import type { Database } from "../../stores/postgres/client";
import { type ApiKey, apiKeys } from "../../stores/postgres/schema";

/**
 * Server keys: `eb_<8 chars>_<43 chars>`, the first part a public prefix that finds the row, the
 * rest 256 random bits. Verified by one SHA-256 and one row lookup, and that row is kept per
 * isolate for KEY_CACHE_MS (the credential cache namespace, with the lifetimes for unknown
 * prefixes and outages), so the hot path queries nothing and a revocation reaches every isolate
 * within that time.
 */
export const KEY_CACHE_MS = KEY_ROW_FRESH_MS;
const PREFIX_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789";
const KEY_PATTERN = /^(eb_[a-z2-9]{8})_([A-Za-z0-9_-]{43})$/;

export interface IssuedKey {
  id: string;
  key: string;
  prefix: string;
  hash: string;
  signingKey: string;
}

/**
 * A new key and what is stored of it; the key itself is returned to the caller once, never stored.
 */
export async function issueKey(): Promise<IssuedKey> {
  const prefixBytes = crypto.getRandomValues(new Uint8Array(8));
  const chars = [...prefixBytes].map((b) => PREFIX_ALPHABET[b % PREFIX_ALPHABET.length]);
  const prefix = `eb_${chars.join("")}`;
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

export type VerifiedKey = VerifiedServerKey;

/**
 * The live key `token` is, or null (unknown, revoked, or a wrong secret). The hash comparison is
 * constant-time, so response timing says nothing about how much of a guess was right.
 */
export async function verifyServerKey(db: () => Database, token: string, now = Date.now()) {
  const prefix = keyPrefixOf(token);
  if (!prefix) return null;
  const known = verifiedServerKey(token, now);
  if (known) return known;
  // Postgres unreachable: a key this isolate knew keeps working for a while; others get a 503.
  const row = await serverKeyRow(prefix, () => liveKeyRow(db, prefix), now);
  if (!row || !sameDigest(await sha256Hex(token), row.hash)) return null;
  const key: VerifiedKey = {
    id: row.id,
    prefix: row.prefix,
    scopes: row.scopes as Scope[],
    requireSignature: row.requireSignature,
    signingKey: row.signingKey,
  };
  rememberVerifiedServerKey(token, key);
  return key;
}

async function liveKeyRow(db: () => Database, prefix: string): Promise<ApiKey | null> {
  const live = and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt));
  const [row] = await db().select().from(apiKeys).where(live).limit(1);
  return row ?? null;
}

/** Drops this isolate's copy of a key (after a revocation here; other isolates expire theirs). */
export function forgetServerKey(prefix: string): void {
  forgetServerKeyRow(prefix);
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
