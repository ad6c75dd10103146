import { createRemoteJWKSet, decodeJwt, type JWTVerifyGetKey, jwtVerify, SignJWT } from "jose";
import { rememberVerifiedPlayerToken, verifiedPlayerToken } from "../../stores/cache/credentials";

/**
 * Player tokens: JWTs whose subject (or a configured claim) is the player id. Two sources:
 *  - minted here (POST /v1/players/:player/tokens) with PLAYER_TOKEN_SECRET, HS256, issuer
 *    "edgeboard";
 *  - issued by the studio's identity provider: HS256 with IDP_JWT_SECRET, or RS256/ES256/EdDSA
 *    against IDP_JWKS_URL (keys fetched once and cached by jose), with IDP_ISSUER/IDP_AUDIENCE
 *    checked when set, and the player id in IDP_PLAYER_CLAIM (default "sub").
 * Verification needs no database and no network on the hot path.
 */
const OWN_ISSUER = "edgeboard";
const OWN_AUDIENCE = "edgeboard-player";
const DEFAULT_TOKEN_TTL_SECONDS = 3_600;
/** Player ids as events carry them (routes/events/schema). */
const PLAYER_ID = /^[A-Za-z0-9_.:@|-]{1,128}$/;

export interface TokenConfig {
  PLAYER_TOKEN_SECRET?: string;
  PLAYER_TOKEN_TTL_SECONDS?: string;
  IDP_JWT_SECRET?: string;
  IDP_JWKS_URL?: string;
  IDP_ISSUER?: string;
  IDP_AUDIENCE?: string;
  IDP_PLAYER_CLAIM?: string;
}

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenError";
  }
}

const encoder = new TextEncoder();
const hmacKeys = new Map<string, CryptoKey>();
const jwkSets = new Map<string, JWTVerifyGetKey>();

/** One imported HMAC key per secret per isolate: importing costs more than verifying. */
async function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    hmacKeys.set(secret, key);
  }
  return key;
}

function jwkSet(url: string): JWTVerifyGetKey {
  let set = jwkSets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
    jwkSets.set(url, set);
  }
  return set;
}

export function tokenTtlSeconds(config: TokenConfig): number {
  const ttl = Number(config.PLAYER_TOKEN_TTL_SECONDS ?? DEFAULT_TOKEN_TTL_SECONDS);
  return Number.isInteger(ttl) && ttl > 0 ? ttl : DEFAULT_TOKEN_TTL_SECONDS;
}

/**
 * A token for `playerId`, valid `ttlSeconds`; null when this deployment has no PLAYER_TOKEN_SECRET.
 */
export async function mintPlayerToken(
  config: TokenConfig,
  playerId: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<{ token: string; expiresAt: Date } | null> {
  if (!config.PLAYER_TOKEN_SECRET) return null;
  const issuedAt = Math.floor(now / 1000);
  const expiresAt = issuedAt + ttlSeconds;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(playerId)
    .setIssuer(OWN_ISSUER)
    .setAudience(OWN_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(await hmacKey(config.PLAYER_TOKEN_SECRET));
  return { token, expiresAt: new Date(expiresAt * 1000) };
}

/** Whether `token` looks like a JWT at all (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/**
 * The player a valid token acts for; throws TokenError saying why a token is refused. Tokens
 * verified here are remembered until they expire (the credential cache namespace): a game client
 * sends the same token with every request, and a lookup costs far less than a signature check.
 */
export async function verifyPlayerToken(
  config: TokenConfig,
  token: string,
  now = Date.now(),
): Promise<string> {
  const known = verifiedPlayerToken(token, now);
  if (known) return known.playerId;
  const checked = await verifyAfresh(config, token, new Date(now));
  rememberVerifiedPlayerToken(token, checked);
  return checked.playerId;
}

async function verifyAfresh(
  config: TokenConfig,
  token: string,
  currentDate: Date,
): Promise<{ playerId: string; expiresAt: number }> {
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    throw new TokenError("the token is not a readable JWT");
  }
  try {
    if (issuer === OWN_ISSUER && config.PLAYER_TOKEN_SECRET) {
      const { payload } = await jwtVerify(token, await hmacKey(config.PLAYER_TOKEN_SECRET), {
        currentDate,
        issuer: OWN_ISSUER,
        audience: OWN_AUDIENCE,
        algorithms: ["HS256"],
        requiredClaims: ["exp", "sub"],
      });
      return { playerId: playerOf(payload.sub), expiresAt: expiryOf(payload.exp) };
    }
    const options = {
      currentDate,
      ...(config.IDP_ISSUER ? { issuer: config.IDP_ISSUER } : {}),
      ...(config.IDP_AUDIENCE ? { audience: config.IDP_AUDIENCE } : {}),
      requiredClaims: ["exp"],
    };
    const claim = config.IDP_PLAYER_CLAIM || "sub";
    if (config.IDP_JWKS_URL) {
      const { payload } = await jwtVerify(token, jwkSet(config.IDP_JWKS_URL), {
        ...options,
        algorithms: ["RS256", "ES256", "EdDSA"],
      });
      return { playerId: playerOf(payload[claim]), expiresAt: expiryOf(payload.exp) };
    }
    if (config.IDP_JWT_SECRET) {
      const { payload } = await jwtVerify(token, await hmacKey(config.IDP_JWT_SECRET), {
        ...options,
        algorithms: ["HS256"],
      });
      return { playerId: playerOf(payload[claim]), expiresAt: expiryOf(payload.exp) };
    }
  } catch (error) {
    if (error instanceof TokenError) throw error;
    const code = (error as { code?: string }).code;
    if (code === "ERR_JWT_EXPIRED") throw new TokenError("the token has expired; get a new one");
    throw new TokenError(`the token is not valid here (${code ?? "unverifiable"})`);
  }
  throw new TokenError(
    "no verifier matches this token's issuer " +
      "(configure IDP_JWT_SECRET or IDP_JWKS_URL for your identity provider)",
  );
}

/** `exp` (required by every verifier above) in epoch ms. */
function expiryOf(exp: number | undefined): number {
  return (exp ?? 0) * 1000;
}

function playerOf(value: unknown): string {
  if (typeof value !== "string" || !PLAYER_ID.test(value)) {
    throw new TokenError(
      "the token's player claim is missing or not a valid player id " +
        "(1-128 of letters, digits, _ . : @ | -)",
    );
  }
  return value;
}
