import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { ANONYMOUS, type Caller, hasScope, type Scope } from "../domain";
import { ApiError } from "../lib/errors";
import { count } from "../lib/metrics";
import { authenticate } from "../services/access/authenticate";
import {
  SIGNATURE_HEADER,
  signedRequestOf,
  verifyRequestSignature,
} from "../services/access/request-signing";
import { requireBoard } from "../services/boards";
import type { Board } from "../stores/postgres/schema";
import type { AppContext } from "./context";
import { errorResponses } from "./errors";
import { limitAddress, limitCaller, type RateClass } from "./rate-limit";

/**
 * What a route demands of its caller:
 *  - "none": anyone (health);
 *  - "board-read": anyone for a public board; a private one needs a player token or a key with
 *    `read` (checked once the board is known: see readableBoard);
 *  - "event-write": a player token (its own player's events) or a server key with events:write;
 *  - "player-read": a player token (its own player's data, checked by the route) or a server key
 *    with `read` (prizes);
 *  - "admin-key": ADMIN_KEY only (managing keys, so a key never mints a stronger one);
 *  - a scope: a server key with it, or ADMIN_KEY.
 */
type Credential = "none" | "board-read" | "event-write" | "player-read" | "admin-key" | Scope;

export interface Access {
  credential: Credential;
  rateLimit: RateClass;
}

const routeAccess = new Map<string, Access>();

/**
 * Every route's access as declared, by "METHOD /path" (OpenAPI path syntax): the auth matrix tests
 * read it.
 */
export function declaredAccess(): ReadonlyMap<string, Access> {
  return routeAccess;
}

/**
 * createRoute with the route's access declared next to its schema: the middleware that limits
 * and authenticates runs before the route's validators, the OpenAPI document states the
 * credential (`security`, `x-edgeboard-access`) and the 401/403/429 answers.
 */
export function guardedRoute<R extends RouteConfig>(config: R & { access: Access }) {
  const { access, ...route } = config;
  routeAccess.set(`${route.method.toUpperCase()} ${route.path}`, access);
  const guarded = access.credential === "none" ? ([429] as const) : ([401, 403, 429] as const);
  const statuses = route.request?.body ? ([...guarded, 415] as const) : guarded;
  return createRoute({
    ...(route as unknown as R),
    middleware: [guard(access)],
    security: securityOf(access.credential),
    "x-edgeboard-access": access,
    responses: { ...errorResponses(...statuses), ...route.responses },
  });
}

function securityOf(credential: Credential): Array<Record<string, string[]>> {
  switch (credential) {
    case "none":
      return [];
    case "board-read":
      return [{}, { playerToken: [] }, { serverKey: ["read"] }];
    case "event-write":
      return [{ playerToken: [] }, { serverKey: ["events:write"] }];
    case "player-read":
      return [{ playerToken: [] }, { serverKey: ["read"] }];
    case "admin-key":
      return [{ adminKey: [] }];
    default:
      return [{ serverKey: [credential] }, { adminKey: [] }];
  }
}

function guard(access: Access): MiddlewareHandler<AppContext> {
  return async (c, next) => {
    // The address is limited before any credential is looked up, so guessing keys costs the
    // guesser its own budget, not a database query each.
    await limitAddress(c, access.rateLimit);
    // Open routes (health) read no credential: a probe with a stale key must still see the truth.
    const { caller, key } =
      access.credential === "none"
        ? { caller: ANONYMOUS }
        : await authenticate(c.env, c.get("stores").db, c.req.header("authorization"));
    if (key && (key.requireSignature || c.req.header(SIGNATURE_HEADER) !== undefined))
      await checkSignature(c, key.signingKey);
    admit(caller, access.credential);
    await limitCaller(c, caller, access.rateLimit);
    c.set("caller", caller);
    await next();
  };
}

/**
 * A key that requires signing (or a request that chose to sign) must carry a valid HMAC of this
 * very request, never seen before (services/access/request-signing.ts).
 */
async function checkSignature(c: Context<AppContext>, signingKey: string): Promise<void> {
  const check = await verifyRequestSignature(
    await signedRequestOf(c.req),
    signingKey,
    Date.now(),
    c.get("stores").replays,
  );
  if (!check.ok) {
    count("authRefused");
    throw new ApiError("UNAUTHORIZED", `Request signature refused: ${check.reason}`);
  }
}

function admit(caller: Caller, credential: Credential): void {
  if (credential === "none" || credential === "board-read") return;
  const allowed =
    credential === "event-write"
      ? caller.kind === "player" || hasScope(caller, "events:write")
      : credential === "player-read"
        ? caller.kind === "player" || hasScope(caller, "read")
        : credential === "admin-key"
          ? caller.kind === "admin"
          : hasScope(caller, credential);
  if (allowed) return;
  const needs =
    credential === "event-write"
      ? "a player token or a server key with events:write"
      : credential === "player-read"
        ? "a player token or a server key with read"
        : credential === "admin-key"
          ? "the admin key (ADMIN_KEY)"
          : `a server key with ${credential}, or the admin key`;
  if (caller.kind === "anonymous")
    throw new ApiError(
      "UNAUTHORIZED",
      `This route needs ${needs}: send Authorization: Bearer <credential>`,
    );
  count("accessDenied");
  throw new ApiError("FORBIDDEN", `This credential may not use this route: it needs ${needs}`);
}

/** Whether a caller may read a board that is not public. */
export function readsPrivateBoards(caller: Caller): boolean {
  return caller.kind === "player" || hasScope(caller, "read");
}

/**
 * The board a "board-read" route names (404 if unknown), once the caller may read it: a private
 * board needs a player token or a key with `read` (401 without a credential, 403 with another).
 */
export async function readableBoard(c: Context<AppContext>, boardId: string): Promise<Board> {
  const board = await requireBoard(c.get("stores").db, boardId);
  if (board.public) return board;
  const caller = c.get("caller");
  if (readsPrivateBoards(caller)) return board;
  const message =
    `Board "${boardId}" is private: ` +
    "reads need a player token or a server key with the read scope";
  if (caller.kind === "anonymous") throw new ApiError("UNAUTHORIZED", message);
  count("accessDenied");
  throw new ApiError("FORBIDDEN", message);
}
