import { env, exports } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import type { AppBindings } from "../../src/env";
import { openDatabase } from "../../src/stores/postgres/client";

export const testEnv = env as AppBindings;
export const ADMIN = {
  authorization: `Bearer ${testEnv.ADMIN_KEY}`,
  "content-type": "application/json",
};

let counter = 0;
/** Ids unique across test files and runs, so no test ever sees another's rows. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}-${counter}`;
}

export function eventId(): string {
  return crypto.randomUUID();
}

export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`http://edge.test${path}`, init));
}

export type BoardOptions = {
  sortOrder?: "desc" | "asc";
  operator?: "best" | "latest" | "increment";
  periods?: Array<"all" | "daily" | "weekly" | "monthly">;
  timeZone?: string;
  weekStart?: "monday" | "sunday";
  minScore?: number;
  maxScore?: number;
  scoreOverflow?: "reject" | "clamp";
  clientWrites?: boolean;
  public?: boolean;
  maxIncrement?: number;
  maxScoreEventsPerMinute?: number;
  cacheTtlSeconds?: number;
  topSize?: number;
};

/** The body of a 202 from POST /v1/events. */
export type IngestReply = {
  accepted: number;
  rejected: Array<{ index: number; error: { code: string; message: string } }>;
};

/** Creates a board through the admin API (the same path a studio uses) and returns its id. */
export async function createBoard(options: BoardOptions = {}): Promise<string> {
  const id = uniqueId("board");
  const res = await api("/v1/admin/boards", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({ id, name: `Test ${id}`, ...options }),
  });
  if (res.status !== 201) throw new Error(`createBoard failed: ${res.status} ${await res.text()}`);
  return id;
}

export async function postEvents(events: unknown[] | unknown): Promise<Response> {
  const body = Array.isArray(events) ? { events } : events;
  return api("/v1/events", { method: "POST", headers: ADMIN, body: JSON.stringify(body) });
}

/** Runs a query against the test database through the production driver. */
export async function query<T extends Record<string, unknown>>(
  statement: ReturnType<typeof sql>,
): Promise<T[]> {
  const handle = openDatabase(testEnv, { maxConnections: 1 });
  try {
    const result = await handle.db.execute<T>(statement);
    return result.rows as T[];
  } finally {
    await handle.close();
  }
}

export async function scoreRows(
  boardId: string,
): Promise<Array<{ period_key: string; player_id: string; score: number; reached_at: string }>> {
  const rows = await query<{
    period_key: string;
    player_id: string;
    score: string;
    reached_at: string;
  }>(
    sql`select period_key, player_id, score, reached_at from scores where board_id = ${boardId} order by period_key, player_id`,
  );
  return rows.map((r) => ({
    ...r,
    score: Number(r.score),
    reached_at: new Date(r.reached_at).toISOString(),
  }));
}

/** Polls until `check` returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
