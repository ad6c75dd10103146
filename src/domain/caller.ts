/**
 * Who is calling, once the request's credential was checked, and what each scope allows. Pure:
 * routes and services decide with it, the access layer (services/access) produces it.
 */
export const SCOPES = [
  "events:write",
  "scores:write-any",
  "tokens:mint",
  "boards:admin",
  "tournaments:admin",
  "read",
] as const;
export type Scope = (typeof SCOPES)[number];

export type Caller =
  | { kind: "anonymous" }
  /** ADMIN_KEY: every scope. */
  | { kind: "admin" }
  /** A server key (POST /v1/admin/keys). */
  | { kind: "key"; keyId: string; prefix: string; scopes: readonly Scope[] }
  /** A player token: acts for one player only. */
  | { kind: "player"; playerId: string };

export const ANONYMOUS: Caller = { kind: "anonymous" };

/**
 * The caller as an audit trail names it: "admin" (ADMIN_KEY), "key:<prefix>/<id>" (a server key;
 * the prefix is what lists and logs show), "player:<id>", "anonymous".
 */
export function actorOf(caller: Caller): string {
  switch (caller.kind) {
    case "key":
      return `key:${caller.prefix}/${caller.keyId}`;
    case "player":
      return `player:${caller.playerId}`;
    default:
      return caller.kind;
  }
}

export function hasScope(caller: Caller, scope: Scope): boolean {
  if (caller.kind === "admin") return true;
  return caller.kind === "key" && caller.scopes.includes(scope);
}

const SERVER_AUTHORITATIVE =
  "this board is server-authoritative: " +
  "only a server key with scores:write-any moves its scores";

/**
 * Why this caller may not move `playerId`'s score on a board, or null. A player token writes for
 * its own player only, and never on a server-authoritative board; a server key needs
 * scores:write-any on those boards.
 */
export function scoreWriteRefusal(
  caller: Caller,
  playerId: string,
  clientWrites: boolean,
): string | null {
  if (caller.kind === "player") {
    if (caller.playerId !== playerId)
      return `a player token for "${caller.playerId}" cannot send events for "${playerId}"`;
    if (!clientWrites) return SERVER_AUTHORITATIVE;
    return null;
  }
  if (!clientWrites && !hasScope(caller, "scores:write-any")) {
    return SERVER_AUTHORITATIVE;
  }
  return null;
}
