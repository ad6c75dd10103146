/**
 * One fuzz request for an operation: a credential, a path with odd parameters, a query, headers
 * and a body (bodies.ts). Requests with a valid credential to anything but a GET are always
 * invalid, so the fuzz can hold real credentials without writing.
 */
import { encodeCursor } from "../../src/domain";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../src/services/access/request-signing";
import { type Body, eventsRequestBody, JSON_MEDIA_TYPES, schemaBody, text } from "./bodies";
import {
  authorization,
  type CredentialKind,
  type Credentials,
  isValidCredential,
  pickCredential,
} from "./credentials";
import type { EventWorld } from "./event-bodies";
import {
  base64Noise,
  headerNoise,
  hex,
  oddPathSegment,
  oddQueryValue,
  oddText,
  oddValue,
  percentEncode,
  type Random,
} from "./hostile";
import type { Operation, Parameter } from "./operations";
import { type Hints, validValue } from "./schema-values";

export interface World extends EventWorld {
  credentials: Credentials;
  maxBatch: number;
}

export interface FuzzRequest {
  /** The operation ("METHOD /path") or "wrong method" for a method the path does not have. */
  operation: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | FormData | undefined;
  credential: CredentialKind;
  /** The operation's declared credential; undefined for a wrong method. */
  requires: string | undefined;
}

// Odd parts are kept to a minority, so that most requests pass validation and reach the checks
// behind it.
function pathSegment(parameter: Parameter, world: World, rng: Random, absent: boolean): string {
  if (rng.next() < 0.2) return oddPathSegment(rng);
  if (rng.next() < 0.05) return percentEncode(oddText(rng).slice(0, 300)) || "%20";
  const hint = (absent && world.hints[`absent:${parameter.name}`]) || world.hints[parameter.name];
  const value = hint
    ? hint(rng)
    : String(validValue(parameter.schema, rng, world.hints, parameter.name));
  return percentEncode(value);
}

/** A cursor in the API's own encoding, for a period and position that may or may not exist. */
function plausibleCursor(rng: Random): string {
  const period = rng.pick([
    "all",
    new Date().toISOString().slice(0, 10),
    "2026-W47",
    "x".repeat(33),
    "",
  ]);
  const score = rng.pick([0, -1, 100, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 0.5]);
  const reachedAt = rng.pick([0, Date.now(), -1, 1e13]);
  return encodeCursor({ period, score, reachedAt, playerId: rng.pick(["fz-p", "", "a b", "😀"]) });
}

function queryValue(parameter: Parameter, world: World, rng: Random): string {
  if (rng.next() < 0.25) return oddQueryValue(rng);
  if (parameter.name === "cursor") {
    return rng.pick<() => string>([
      () => base64Noise(rng, rng.int(1, 1200)),
      () => percentEncode(oddText(rng)),
      () => plausibleCursor(rng),
    ])();
  }
  const hint = world.hints[`query:${parameter.name}`];
  return percentEncode(
    hint ? hint(rng) : String(validValue(parameter.schema, rng, world.hints, parameter.name)),
  );
}

function queryString(operation: Operation, world: World, rng: Random): string {
  const pairs: string[] = [];
  for (const parameter of operation.parameters.filter((p) => p.in === "query")) {
    if (!parameter.required && rng.next() < 0.4) continue;
    pairs.push(`${parameter.name}=${queryValue(parameter, world, rng)}`);
    if (rng.next() < 0.1) pairs.push(`${parameter.name}=${queryValue(parameter, world, rng)}`);
  }
  if (rng.next() < 0.1)
    pairs.push(`${percentEncode(oddText(rng).slice(0, 50)) || "x"}=${oddQueryValue(rng)}`);
  if (rng.next() < 0.03) pairs.push(`pad=${"q".repeat(rng.pick([1024, 16 * 1024]))}`);
  if (rng.next() < 0.03)
    pairs.push(rng.pick(["&&&", "=", "==", "a", "%", "a=%zz", "limit", "limit=&limit"]));
  return pairs.length ? `?${rng.shuffle(pairs).join("&")}` : rng.pick(["", "", "", "?", "?&"]);
}

/**
 * `absent`: the request must name nothing that exists (a DELETE with a valid credential has no
 * body to break, so only its path keeps it from archiving the fuzz's own boards).
 */
function fillPath(operation: Operation, world: World, rng: Random, absent = false): string {
  const params = new Map(
    operation.parameters.filter((p) => p.in === "path").map((p) => [p.name, p]),
  );
  return operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = params.get(name) ?? {
      name,
      in: "path" as const,
      required: true,
      schema: { type: "string" },
    };
    return pathSegment(parameter, world, rng, absent);
  });
}

function headersFor(
  operation: Operation,
  credential: CredentialKind,
  world: World,
  rng: Random,
  body: Body,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const auth = authorization(credential, world.credentials, rng);
  if (auth !== undefined) headers.authorization = auth;
  if (body.contentType !== undefined) headers["content-type"] = body.contentType;
  if (operation.method === "GET" && rng.next() < 0.15) {
    headers["if-none-match"] = rng.pick([
      "*",
      'W/"x"',
      `"${hex(rng, 16)}"`,
      "garbage",
      '"a", "b", W/"c"',
      headerNoise(rng, 40),
      '"',
      "x".repeat(8 * 1024),
    ]);
  }
  if (rng.next() < 0.04) {
    headers[SIGNATURE_HEADER] = rng.pick([
      "v1=",
      `v1=${hex(rng, 64)}`,
      "junk",
      headerNoise(rng, 20),
    ]);
    headers[TIMESTAMP_HEADER] = rng.pick([
      "0",
      "-1",
      "1e308",
      String(Math.floor(Date.now() / 1000)),
      "NaN",
      "",
    ]);
  }
  // Only on the route's own method: workerd hands the worker any WebSocket upgrade as a GET, so a
  // wrong method with one is no wrong method.
  if (operation.path.endsWith("/live") && operation.method === "GET" && rng.next() < 0.2) {
    headers.upgrade = rng.pick(["websocket", "WebSocket", "h2c", "websocket, junk"]);
    headers.connection = "Upgrade";
  }
  if (rng.next() < 0.03)
    headers["cf-ray"] = rng.pick(["", headerNoise(rng, 30), "r".repeat(8 * 1024), "<script>"]);
  if (rng.next() < 0.03) headers.accept = rng.pick(["text/html", "*/*;q=0", headerNoise(rng, 30)]);
  return headers;
}

const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];

export function requestFor(operation: Operation, world: World, rng: Random): FuzzRequest {
  const credential = pickCredential(rng);
  // A valid credential may write through anything but a GET: such requests are always invalid.
  const strict = isValidCredential(credential) && operation.method !== "GET";
  let body: Body = { body: undefined, contentType: undefined };
  if (operation.path === "/v1/events" && operation.method === "POST")
    body = eventsRequestBody(world, rng, credential);
  else if (operation.body) body = schemaBody(operation.body.schema, world.hints, rng, strict);
  else if (
    operation.method !== "GET" &&
    operation.method !== "HEAD" &&
    !strict &&
    rng.next() < 0.3
  ) {
    body = { body: text(oddValue(rng)), contentType: rng.pick(JSON_MEDIA_TYPES) };
  }
  return {
    operation: operation.id,
    method: operation.method,
    path: `${fillPath(operation, world, rng, strict && operation.method === "DELETE")}${queryString(operation, world, rng)}`,
    headers: headersFor(operation, credential, world, rng, body),
    body: body.body,
    credential,
    requires: operation.access?.credential,
  };
}

/**
 * A method the path does not have (405 or 404 expected, as JSON); bodies only where fetch allows
 * them.
 */
export function wrongMethodFor(
  operations: Operation[],
  world: World,
  rng: Random,
): FuzzRequest | undefined {
  const operation = rng.pick(operations);
  const taken = new Set(operations.filter((o) => o.path === operation.path).map((o) => o.method));
  if (taken.has("GET")) taken.add("HEAD");
  const methods = ALL_METHODS.filter((m) => !taken.has(m));
  if (methods.length === 0) return undefined;
  const method = rng.pick(methods);
  const credential = pickCredential(rng);
  const withBody = method !== "GET" && method !== "HEAD" && rng.next() < 0.5;
  const body: Body = withBody
    ? { body: text(oddValue(rng)), contentType: rng.pick(JSON_MEDIA_TYPES) }
    : { body: undefined, contentType: undefined };
  return {
    operation: "wrong method",
    method,
    path: `${fillPath(operation, world, rng)}${queryString(operation, world, rng)}`,
    headers: headersFor({ ...operation, method }, credential, world, rng, body),
    body: body.body,
    credential,
    requires: undefined,
  };
}

/**
 * Hints for strings by parameter or property name: the fuzz's boards and player, and real-looking
 * keys.
 */
export function hintsFor(
  world: Pick<World, "openBoard" | "authoritativeBoard" | "player">,
  privateBoard: string,
): Hints {
  const board = (rng: Random) =>
    rng.pick([world.openBoard, privateBoard, world.authoritativeBoard, `fz-nope-${hex(rng, 6)}`]);
  return {
    board,
    "absent:board": (rng) => `fz-nope-${hex(rng, 6)}`,
    boardId: board,
    player: (rng) => (rng.next() < 0.6 ? world.player : `fz-p-${hex(rng, 6)}`),
    playerId: (rng) => (rng.next() < 0.6 ? world.player : `fz-p-${hex(rng, 6)}`),
    playerIds: (rng) => (rng.next() < 0.6 ? world.player : `fz-p-${hex(rng, 6)}`),
    id: (rng) => `key_${hex(rng, 32)}`,
    name: (rng) => `fz-${hex(rng, 6)}`,
    "query:at": (rng) =>
      rng.pick([
        "previous",
        "current",
        new Date().toISOString().slice(0, 10),
        new Date(Date.now() - 86_400_000).toISOString().slice(0, 10),
        "2026-W47",
        "2026-11",
        "1970-01-01",
        "9999-12-31",
        "2026-W00",
        "2026-W53",
        "2026-13",
        "2026-02-30",
        "0000-01",
        "-0001-01-01",
        "P1D",
        "",
      ]),
  };
}
