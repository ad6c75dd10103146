import { existsSync, readFileSync } from "node:fs";
import { fmt } from "../../../bench/lib/stats.ts";

export { fmt, percentile } from "../../../bench/lib/stats.ts";

/**
 * HTTP calls of the fault suite, each recorded by route and status, and judged by the contract
 * every answer must keep under faults: a JSON body; no 5xx other than 503; a 503 carries
 * Retry-After and the `{error: {code, message, requestId}}` body. A request with no answer (reset,
 * hung past the client timeout) is status 0 and a problem too.
 */
export interface Answer {
  status: number;
  /** The parsed body; undefined when it was not JSON. */
  json: unknown;
  text: string;
  headers: Headers;
  ms: number;
}

/** Longer than any answer should take; a request still open then is reported as hung. */
const CLIENT_TIMEOUT_MS = 30_000;
/** Examples kept per kind of problem, for the failure message. */
const EXAMPLES = 2;

export class Traffic {
  readonly byRoute = new Map<string, Map<number, number>>();
  readonly latencies = new Map<string, number[]>();
  /** Problem kind ("POST /v1/events: 500 text/plain") → count and a few examples. */
  readonly problems = new Map<string, { count: number; examples: string[] }>();

  record(route: string, answer: Answer): void {
    const statuses = this.byRoute.get(route) ?? new Map<number, number>();
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    this.byRoute.set(route, statuses);
    const ms = this.latencies.get(route) ?? [];
    ms.push(answer.ms);
    this.latencies.set(route, ms);
    const problem = judge(answer);
    if (problem) {
      const key = `${route}: ${problem}`;
      const entry = this.problems.get(key) ?? { count: 0, examples: [] };
      entry.count += 1;
      if (entry.examples.length < EXAMPLES) entry.examples.push(example(answer));
      this.problems.set(key, entry);
    }
  }

  count(route: string, status?: number): number {
    const statuses = this.byRoute.get(route);
    if (!statuses) return 0;
    if (status !== undefined) return statuses.get(status) ?? 0;
    return [...statuses.values()].reduce((a, b) => a + b, 0);
  }

  problemCount(): number {
    return [...this.problems.values()].reduce((a, p) => a + p.count, 0);
  }

  /** "GET page 1,200: 1,150 200, 50 503; …" */
  summary(routes?: string[]): string {
    return (routes ?? [...this.byRoute.keys()])
      .map((route) => {
        const statuses = [...(this.byRoute.get(route) ?? new Map<number, number>())].sort(
          (a, b) => a[0] - b[0],
        );
        const parts = statuses.map(
          ([status, n]) => `${fmt(n)} ${status === 0 ? "no answer" : status}`,
        );
        return `${route} ${fmt(this.count(route))}${parts.length ? `: ${parts.join(", ")}` : ""}`;
      })
      .join("; ");
  }

  /**
   * One line per kind of problem, with examples; empty when there were none. Given the worker's
   * log, an example with a requestId says what the worker logged for that request.
   */
  problemLines(logFile?: string): string[] {
    const log = logFile && existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    return [...this.problems].map(([kind, p]) => {
      const examples = [...new Set(p.examples.map((e) => explain(e, log)))];
      return `${fmt(p.count)} × ${kind}; e.g. ${examples.join(" | ")}`;
    });
  }
}

/** A short description of a bad answer; "{requestId}" marks where the worker's log line goes. */
function example(answer: Answer): string {
  const error = (answer.json as { error?: { code?: string; requestId?: string } } | undefined)
    ?.error;
  if (error?.code)
    return `${answer.status} ${error.code}${error.requestId ? ` {${error.requestId}}` : ""}`;
  return `${answer.status} ${answer.headers.get("content-type") ?? "(no content-type)"} "${answer.text.slice(0, 120).replace(/\s+/g, " ")}"`;
}

/** Replaces "{requestId}" by what the worker logged for that request (its error), if anything. */
function explain(text: string, log: string): string {
  return text.replace(/ \{([0-9a-f-]{36})\}/, (_, requestId: string) => {
    const at = log.indexOf(`"requestId":"${requestId}"`);
    if (at < 0) return ` (requestId ${requestId})`;
    const end = log.indexOf("\n", at);
    const line = log.slice(log.lastIndexOf("\n", at) + 1, end < 0 ? undefined : end);
    try {
      const entry = JSON.parse(line.slice(line.indexOf("{"))) as {
        message?: string;
        path?: string;
        error?: string;
      };
      return ` (worker log: ${entry.message} on ${entry.path}: ${String(entry.error).slice(0, 160)})`;
    } catch {
      return ` (worker log: ${line.slice(0, 200)})`;
    }
  });
}

function judge(answer: Answer): string | undefined {
  if (answer.status === 0) return `no answer (${answer.text})`;
  if (answer.json === undefined)
    return `${answer.status} with a non-JSON body (${answer.headers.get("content-type") ?? "no content-type"})`;
  if (answer.status >= 500 && answer.status !== 503) return `${answer.status}`;
  if (answer.status === 503) {
    const error = (answer.json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (!error || typeof error.code !== "string" || typeof error.message !== "string")
      return "503 without the JSON error body";
    if (!answer.headers.get("retry-after")) return "503 without Retry-After";
  }
  return undefined;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Where the answer is recorded, under `route`. */
  traffic?: Traffic;
  route?: string;
}

/** One request; never throws (a failed request is status 0 with the error as text). */
export async function call(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const started = performance.now();
  let answer: Answer;
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        ...options.headers,
      },
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    answer = {
      status: res.status,
      json,
      text,
      headers: res.headers,
      ms: performance.now() - started,
    };
  } catch (error) {
    const reason =
      (error as Error).name === "TimeoutError"
        ? `hung > ${CLIENT_TIMEOUT_MS / 1000} s`
        : String((error as Error).cause ?? error);
    answer = {
      status: 0,
      json: undefined,
      text: reason,
      headers: new Headers(),
      ms: performance.now() - started,
    };
  }
  if (options.traffic) options.traffic.record(options.route ?? `${method} ${path}`, answer);
  return answer;
}

/**
 * Like `call`, but the answer must be `expect` (default 2xx) with a JSON body, or it throws saying
 * what came.
 */
export async function callOk<T>(
  base: string,
  method: string,
  path: string,
  options: CallOptions & { expect?: number } = {},
): Promise<T> {
  const answer = await call(base, method, path, options);
  const ok =
    options.expect !== undefined
      ? answer.status === options.expect
      : answer.status >= 200 && answer.status < 300;
  if (!ok || answer.json === undefined) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text.slice(0, 400)}`);
  }
  return answer.json as T;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
