/**
 * What every fuzz answer must satisfy: no 5xx; every 4xx a JSON error body with a documented code
 * (and the status that code stands for); no success where the credential or the body should have
 * been refused; 202s of POST /v1/events that accepted nothing and name only documented per-item
 * codes.
 */
import { REJECTION_CODES } from "../../src/domain/rejection-codes";
import { errorStatus } from "../../src/lib/errors";
import type { CredentialKind } from "./credentials";
import type { FuzzRequest } from "./requests";

const ERROR_CODES: ReadonlyMap<string, number> = new Map(Object.entries(errorStatus));
const ITEM_CODES: ReadonlySet<string> = new Set(REJECTION_CODES);
/** Routes anyone may call, so a success without a credential is no bypass. */
const OPEN = new Set(["none", "board-read"]);

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** Access-Control-Allow-Origin of the answer, if any. */
  allowOrigin: string | null;
}

/** Why this answer breaks the contract, or null. */
export function verdict(request: FuzzRequest, answer: Answer): string | null {
  const { status } = answer;
  if (status >= 500) return `status ${status}`;
  if (status >= 400) return errorVerdict(request, answer);
  // Any path answers a CORS preflight (OPTIONS) with 204; it grants nothing to an origin not
  // listed.
  if (request.method === "OPTIONS" && status === 204) {
    return answer.allowOrigin === null
      ? null
      : `a preflight without a listed Origin granted ${answer.allowOrigin}`;
  }
  if (request.operation === "wrong method")
    return `a method the path does not have answered ${status}`;
  const guarded = request.requires !== undefined && !OPEN.has(request.requires);
  if (guarded && !admitted(request.credential, request.requires))
    return `credential ${request.credential} may not use this route, yet ${status}`;
  if (request.operation === "POST /v1/events" && status === 202) return ingestVerdict(answer);
  // Any other success of a non-GET could have written: only reads on open routes may succeed.
  if (request.method !== "GET" && request.method !== "HEAD" && guarded)
    return `a write route answered ${status} to a request built to fail`;
  return null;
}

/**
 * Whether the route's access admits this kind of credential (the reader key holds the read scope
 * only).
 */
function admitted(credential: CredentialKind, requires: string | undefined): boolean {
  if (credential === "admin") return requires !== undefined;
  if (credential === "player") return requires === "event-write" || requires === "player-read";
  if (credential === "reader") return requires === "read" || requires === "player-read";
  return false;
}

function errorVerdict(request: FuzzRequest, answer: Answer): string | null {
  if (!/^application\/json\b/i.test(answer.contentType))
    return `content-type "${answer.contentType}" on a ${answer.status}`;
  // HEAD answers carry the headers of the GET, never its body.
  if (request.method === "HEAD") return null;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `a ${answer.status} whose body is not JSON`;
  }
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  if (typeof code !== "string") return `a ${answer.status} without error.code`;
  const documented = ERROR_CODES.get(code);
  if (documented === undefined) return `undocumented error code ${code} (${answer.status})`;
  if (documented !== answer.status)
    return `error code ${code} stands for ${documented}, answered with ${answer.status}`;
  return null;
}

function ingestVerdict(answer: Answer): string | null {
  let body: { accepted?: unknown; rejected?: Array<{ error?: { code?: unknown } }> };
  try {
    body = JSON.parse(answer.text) as typeof body;
  } catch {
    return "a 202 whose body is not JSON";
  }
  if (body.accepted !== 0)
    return `POST /v1/events accepted ${String(body.accepted)} event(s) built to be refused`;
  const unknown = (body.rejected ?? [])
    .map((r) => r.error?.code)
    .filter((code) => typeof code !== "string" || !ITEM_CODES.has(code));
  return unknown.length
    ? `undocumented per-item codes ${JSON.stringify(unknown.slice(0, 5))}`
    : null;
}

/** Counts by status and by operation, for the one summary line. */
export class Tally {
  readonly byStatus = new Map<number, number>();
  readonly byOperation = new Map<string, number>();
  total = 0;

  add(request: FuzzRequest, status: number): void {
    this.total += 1;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    this.byOperation.set(request.operation, (this.byOperation.get(request.operation) ?? 0) + 1);
  }

  summary(seed: number, operations: number, seconds: number): string {
    const n = (value: number) => value.toLocaleString("en-US");
    const statuses = [...this.byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status} ${n(count)}`);
    const perOperation = [...this.byOperation.values()];
    return (
      `[fuzz] ${n(this.total)} requests over ${operations} operations (seed ${seed}, ${seconds.toFixed(1)} s): ${statuses.join(", ")}; ` +
      `per operation ${n(Math.min(...perOperation))}-${n(Math.max(...perOperation))}`
    );
  }
}

/** A request and its answer, short enough for a failure message. */
export function failureReport(request: FuzzRequest, answer: Answer, problem: string): string {
  const clip = (s: string, max: number) =>
    s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
  const body = request.body instanceof FormData ? "<multipart form>" : (request.body ?? "");
  return [
    `${problem}: ${request.method} ${clip(request.path, 200)} [${request.operation}, credential ${request.credential}]`,
    `  request headers ${clip(JSON.stringify(request.headers), 300)}`,
    `  request body ${clip(JSON.stringify(body), 300)}`,
    `  answer ${answer.status} ${answer.contentType} ${clip(answer.text, 500)}`,
  ].join("\n");
}
