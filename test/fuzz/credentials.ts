/**
 * Who a fuzz request claims to be. Most requests carry no credential or a junk one; the valid ones
 * (the admin key, the fuzz's player token, a read-only server key) put validation behind the
 * access layer in reach.
 */
import { base64Noise, ESCAPED_NON_ASCII, headerNoise, hex, type Random } from "./hostile";

export type CredentialKind = "none" | "junk" | "admin" | "player" | "reader";

export interface Credentials {
  admin: string;
  player: string;
  reader: string;
  /** Whole Authorization values, each of which must be refused. */
  junk: string[];
}

const VALID: ReadonlySet<CredentialKind> = new Set(["admin", "player", "reader"]);

export function isValidCredential(kind: CredentialKind): boolean {
  return VALID.has(kind);
}

export function pickCredential(rng: Random): CredentialKind {
  const roll = rng.int(0, 99);
  return roll < 25
    ? "none"
    : roll < 60
      ? "junk"
      : roll < 75
        ? "admin"
        : roll < 90
          ? "player"
          : "reader";
}

export function authorization(
  kind: CredentialKind,
  credentials: Credentials,
  rng: Random,
): string | undefined {
  switch (kind) {
    case "none":
      return undefined;
    case "junk":
      return rng.pick(credentials.junk);
    default:
      return `Bearer ${credentials[kind]}`;
  }
}

/** Authorization values that must all be refused (or read as anonymous, when empty). */
export function junkAuthorizations(
  rng: Random,
  known: { unknownKey: string; expiredToken: string; forgedTokens: string[]; admin: string },
) {
  const jwtish = `${base64Noise(rng, 36)}.${base64Noise(rng, 80)}.${base64Noise(rng, 43)}`;
  return [
    "",
    " ",
    "Bearer",
    "Bearer ",
    "Bearer  ",
    "bearer junk",
    "Basic dXNlcjpwYXNz",
    "Token abc",
    `Bearer ${"A".repeat(5000)}`,
    `Bearer ${"x".repeat(64 * 1024)}`,
    `Bearer ${headerNoise(rng, 24)}`,
    ...ESCAPED_NON_ASCII.map((text) => `Bearer ${text}`),
    `Bearer eb_xxxxxxxx_${base64Noise(rng, 43).replace(/[+/=]/g, "A")}`,
    `Bearer eb_${hex(rng, 8)}_`,
    `Bearer eb_${hex(rng, 8)}_${"a".repeat(200)}`,
    `Bearer ${known.unknownKey}`,
    `Bearer ${known.unknownKey.slice(0, -1)}`,
    `Bearer ${known.expiredToken}`,
    ...known.forgedTokens.map((token) => `Bearer ${token}`),
    `Bearer ${jwtish}`,
    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "Bearer a.b.c",
    `Bearer ${known.admin}x`,
    `Bearer ${known.admin.toUpperCase()}`,
    `Bearer ${known.admin.slice(0, -1)}`,
    `Bearer ${known.admin} ${known.admin}`,
    `Bearer\t${known.admin}`,
    known.admin,
  ];
}
