import { mintPlayerToken } from "../../src/services/access/player-tokens";
import { issueKey } from "../../src/services/access/server-keys";
import { ADMIN, api, testEnv } from "../helpers/factories";

/** Creates a server key through the admin API and returns its secret and id. */
export async function createKey(
  scopes: string[],
  name = "test key",
  extra: Record<string, unknown> = {},
) {
  const res = await api("/v1/admin/keys", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({ name, scopes, ...extra }),
  });
  if (res.status !== 201)
    throw new Error(`POST /v1/admin/keys answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; key: string; prefix: string; scopes: string[] };
}

export async function revokeKey(id: string): Promise<void> {
  const res = await api(`/v1/admin/keys/${id}`, { method: "DELETE", headers: ADMIN });
  if (res.status !== 200)
    throw new Error(`DELETE /v1/admin/keys/${id} answered ${res.status}: ${await res.text()}`);
}

export async function playerToken(playerId: string, ttlSeconds = 600): Promise<string> {
  const minted = await mintPlayerToken(testEnv, playerId, ttlSeconds);
  if (!minted) throw new Error("PLAYER_TOKEN_SECRET is not set in vitest.config.ts");
  return minted.token;
}

/** A token that expired a minute ago. */
export async function expiredToken(playerId: string): Promise<string> {
  const minted = await mintPlayerToken(testEnv, playerId, 60, Date.now() - 120_000);
  if (!minted) throw new Error("PLAYER_TOKEN_SECRET is not set in vitest.config.ts");
  return minted.token;
}

/** A well-formed server key that was never issued. */
export async function unknownKey(): Promise<string> {
  return (await issueKey()).key;
}

export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });
