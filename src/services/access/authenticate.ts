import { ANONYMOUS, type Caller } from "../../domain";
import { ApiError } from "../../lib/errors";
import { count } from "../../lib/metrics";
import type { Database } from "../../stores/postgres/client";
import { looksLikeJwt, type TokenConfig, TokenError, verifyPlayerToken } from "./player-tokens";
import { keyPrefixOf, sameSecret, type VerifiedKey, verifyServerKey } from "./server-keys";

export interface CredentialConfig extends TokenConfig {
  ADMIN_KEY?: string;
}

/** A caller and, for a server key, what request signing needs of it. */
export interface Authenticated {
  caller: Caller;
  key?: VerifiedKey;
}

/**
 * Who sent `authorization` (the header's value): the admin key, a server key, a player token, or
 * nobody. A credential that is present but wrong is a 401, never treated as anonymous, so a
 * client with a broken key learns it at once instead of reading as a stranger.
 */
export async function authenticate(
  config: CredentialConfig,
  db: () => Database,
  authorization: string | undefined,
): Promise<Authenticated> {
  if (authorization === undefined || authorization === "") return { caller: ANONYMOUS };
  const match = /^Bearer +([\x21-\x7e]{1,4096})$/i.exec(authorization);
  const credential = match?.[1];
  if (!credential) refuse("The Authorization header must be `Bearer <server key or player token>`");
  // Each shape is checked by its own verifier first; the admin key (any text) is tried last, so
  // a key or token costs no admin-key digest on the hot path.
  if (keyPrefixOf(credential)) {
    const key = await verifyServerKey(db, credential);
    if (key)
      return {
        caller: { kind: "key", keyId: key.id, prefix: key.prefix, scopes: key.scopes },
        key,
      };
    if (await isAdminKey(config, credential)) return { caller: { kind: "admin" } };
    refuse("This server key is unknown or revoked; create one with POST /v1/admin/keys");
  }
  if (looksLikeJwt(credential)) {
    try {
      return { caller: { kind: "player", playerId: await verifyPlayerToken(config, credential) } };
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      if (await isAdminKey(config, credential)) return { caller: { kind: "admin" } };
      refuse(`Player token refused: ${error.message}`);
    }
  }
  if (await isAdminKey(config, credential)) return { caller: { kind: "admin" } };
  refuse("This credential is not a server key, a player token or the admin key");
}

function isAdminKey(config: CredentialConfig, credential: string): Promise<boolean> {
  return config.ADMIN_KEY ? sameSecret(credential, config.ADMIN_KEY) : Promise.resolve(false);
}

function refuse(message: string): never {
  count("authRefused");
  throw new ApiError("UNAUTHORIZED", message);
}
