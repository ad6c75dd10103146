import {
  applyOperator,
  type ScoreOperator,
  type ScoreRecord,
  type SortOrder,
} from "../../../src/domain/operators.ts";
import { type PeriodKind, periodKeysFor } from "../../../src/domain/periods.ts";
import { makeRandom } from "../../domain/prng.ts";
import { type Answer, call, callOk, fmt, sleep, type Traffic } from "./http.ts";
import type { Stack } from "./stack.ts";

export type Random = ReturnType<typeof makeRandom>;
export { makeRandom };

export interface BoardSpec {
  id: string;
  operator: ScoreOperator;
  sortOrder: SortOrder;
  periods: PeriodKind[];
  topSize?: number;
}

/** An event as a client sends it; without boardId and score it is an analytics event. */
export interface GameEvent {
  id: string;
  type: string;
  playerId: string;
  occurredAt: string;
  boardId?: string;
  score?: number;
  metadata?: Record<string, unknown>;
  payload?: Record<string, unknown>;
}

/** Creates the boards (POST /v1/admin/boards); each case makes its own, with unique ids. */
export async function createBoards(stack: Stack, boards: BoardSpec[]): Promise<void> {
  for (const b of boards) {
    await callOk(stack.worker.base, "POST", "/v1/admin/boards", {
      headers: stack.admin,
      body: {
        id: b.id,
        name: b.id,
        operator: b.operator,
        sortOrder: b.sortOrder,
        periods: b.periods,
        topSize: b.topSize ?? 1000,
      },
    });
  }
}

/**
 * Creates the boards in Postgres directly, as another isolate (or an operator) would have: this
 * worker's isolate has never seen them, so the first requests find its board cache cold.
 */
export async function insertBoards(stack: Stack, boards: BoardSpec[]): Promise<void> {
  for (const b of boards) {
    await stack.query(
      "insert into boards (id, name, sort_order, operator, periods, top_size) values ($1, $1, $2, $3, $4, $5)",
      [b.id, b.sortOrder, b.operator, b.periods, b.topSize ?? 1000],
    );
  }
}

/**
 * Events with seeded scores and unique ids. Every event gets its own occurredAt (one millisecond
 * apart, starting an hour ago), so the reference fold never needs a tie rule between two events
 * of one player.
 */
export class EventFactory {
  readonly random: Random;
  #clock: number;

  constructor(seed: number, startMs = Date.now() - 3_600_000) {
    this.random = makeRandom(seed);
    this.#clock = startMs;
  }

  /** A v4-shaped UUID from the seeded generator (unique within a run: 122 random bits). */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random.next() * 16).toString(16));
    hex[12] = "4";
    hex[16] = ((Math.floor(this.random.next() * 4) & 3) | 8).toString(16);
    const h = hex.join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** An analytics event (no board, no score) carrying `payload`. */
  analytics(playerId: string, type: string, payload: Record<string, unknown>): GameEvent {
    this.#clock += 1;
    return {
      id: this.uuid(),
      type,
      playerId,
      occurredAt: new Date(this.#clock).toISOString(),
      payload,
    };
  }

  event(
    board: BoardSpec,
    playerId: string,
    score: number,
    extra: Partial<GameEvent> = {},
  ): GameEvent {
    this.#clock += 1;
    return {
      id: this.uuid(),
      type: "game_ended",
      playerId,
      occurredAt: new Date(this.#clock).toISOString(),
      boardId: board.id,
      score,
      ...extra,
    };
  }

  /** A random score that fits the board (increment deltas stay small). */
  score(board: BoardSpec): number {
    return board.operator === "increment" ? this.random.int(1, 50) : this.random.int(0, 1_000_000);
  }
}

/**
 * Sends events and remembers what the server said about each. Like a well-behaved client, a
 * request that got no 202 (503, a 500, no answer) is sent again whole after a backoff, with the
 * same ids: the API says that is safe. An event counts as accepted once a 202 did not list it
 * as rejected.
 */
export class Sender {
  readonly accepted = new Map<string, GameEvent>();
  readonly rejected = new Map<string, { event: GameEvent; code: string }>();
  /** Events sent whose fate is unknown: every attempt failed (no 202) before giving up. */
  readonly unknown = new Map<string, GameEvent>();
  sentEvents = 0;
  requests = 0;
  retries = 0;
  readonly #stack: Stack;
  readonly #traffic: Traffic;

  constructor(stack: Stack, traffic: Traffic) {
    this.#stack = stack;
    this.#traffic = traffic;
  }

  /** One request; `single` sends the bare event object rather than {events: [...]}. */
  async send(
    events: GameEvent[],
    options: { single?: boolean; retryForMs?: number } = {},
  ): Promise<Answer> {
    const body = options.single && events.length === 1 ? events[0] : { events };
    const route = options.single
      ? "POST /v1/events (1)"
      : `POST /v1/events (${events.length > 1 ? "batch" : "1 in a batch"})`;
    const giveUpAt = Date.now() + (options.retryForMs ?? 0);
    this.sentEvents += events.length;
    let delay = 250;
    for (;;) {
      this.requests += 1;
      const answer = await call(this.#stack.worker.base, "POST", "/v1/events", {
        body,
        headers: this.#stack.writer,
        traffic: this.#traffic,
        route,
      });
      if (answer.status === 202 && answer.json) {
        const refused = new Map(
          (
            answer.json as { rejected: Array<{ index: number; error: { code: string } }> }
          ).rejected.map((r) => [r.index, r]),
        );
        events.forEach((event, index) => {
          this.unknown.delete(event.id);
          const r = refused.get(index);
          if (r) this.rejected.set(event.id, { event, code: r.error.code });
          else this.accepted.set(event.id, event);
        });
        return answer;
      }
      for (const event of events) this.unknown.set(event.id, event);
      if (answer.status >= 400 && answer.status < 500) return answer;
      if (Date.now() + delay > giveUpAt) return answer;
      this.retries += 1;
      await sleep(delay);
      delay = Math.min(delay * 2, 4_000);
    }
  }
}

/** `${board}|${periodKey}|${player}` → the record the events say it must be. */
export type Fold = Map<string, ScoreRecord>;

/**
 * The reference: every event folded by src/domain/operators.ts, per (board, period key, player).
 * The period comes from occurredAt; the record's time is when the edge accepted the event
 * (`received`: events.received_at, which the client cannot choose), events of one request sharing
 * it and ordered among themselves by occurredAt.
 */
export function referenceFold(
  boards: BoardSpec[],
  events: Iterable<GameEvent>,
  received: ReadonlyMap<string, number>,
): Fold {
  const fold: Fold = new Map();
  const byId = new Map(boards.map((b) => [b.id, b]));
  const acceptedAt = (e: GameEvent) => {
    const at = received.get(e.id);
    if (at === undefined)
      throw new Error(`no received_at for event ${e.id}: it never reached Postgres`);
    return at;
  };
  const sorted = [...events].sort(
    (a, b) => acceptedAt(a) - acceptedAt(b) || a.occurredAt.localeCompare(b.occurredAt),
  );
  for (const e of sorted) {
    const board = e.boardId === undefined ? undefined : byId.get(e.boardId);
    if (!board || e.score === undefined) continue;
    const at = acceptedAt(e);
    for (const { key } of periodKeysFor(
      { periods: board.periods, timeZone: "UTC", weekStart: "monday" },
      new Date(e.occurredAt),
    )) {
      const slot = `${board.id}|${key}|${e.playerId}`;
      const current = fold.get(slot);
      // One request's events share their acceptance time: the later one in it is the latest.
      const next =
        board.operator === "latest" && current?.reachedAt === at
          ? { score: e.score, reachedAt: at }
          : applyOperator(board.operator, board.sortOrder, current, {
              score: e.score,
              occurredAt: at,
            });
      fold.set(slot, next);
    }
  }
  return fold;
}

/** When Postgres says each event was accepted (epoch ms), by event id. */
export async function receivedTimes(stack: Stack, ids: string[]): Promise<Map<string, number>> {
  const rows = await stack.query<{ event_id: string; received_ms: string }>(
    "select event_id, (extract(epoch from min(received_at)) * 1000)::bigint::text as received_ms from events where event_id = any($1::text[]) group by event_id",
    [ids],
  );
  return new Map(rows.map((r) => [r.event_id, Number(r.received_ms)]));
}

export interface LedgerCheck {
  accepted: number;
  persisted: number;
  lost: string[];
  doubled: string[];
  /** Events whose fate was unknown to the client and that did land (they join the fold). */
  landedUnknown: number;
  recordsCompared: number;
  /** Records that differ from the fold: "board|period|player: Postgres X, fold Y". */
  wrongRecords: string[];
}

/**
 * What Postgres holds against what the client was told: every accepted event stored exactly once
 * (`events`, whose key includes received_at, so a second copy would be a second row), and every
 * score record equal to the reference fold of the events that landed.
 */
export async function checkLedger(
  stack: Stack,
  boards: BoardSpec[],
  sender: Sender,
): Promise<LedgerCheck> {
  const ids = [...sender.accepted.keys(), ...sender.unknown.keys()];
  const rows = await stack.query<{ event_id: string; copies: number }>(
    "select event_id, count(*)::int as copies from events where event_id = any($1::text[]) group by event_id",
    [ids],
  );
  const copies = new Map(rows.map((r) => [r.event_id, r.copies]));
  const lost = [...sender.accepted.keys()].filter((id) => !copies.has(id));
  const doubled = [...copies].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
  const landedUnknown = [...sender.unknown.keys()].filter((id) => copies.has(id));
  const landed = [
    ...sender.accepted.values(),
    ...landedUnknown.map((id) => sender.unknown.get(id) as GameEvent),
  ];
  const fold = referenceFold(
    boards,
    landed,
    await receivedTimes(
      stack,
      landed.map((e) => e.id),
    ),
  );
  const wrongRecords = await compareRecords(stack, boards, fold);
  return {
    accepted: sender.accepted.size,
    persisted: [...sender.accepted.keys()].filter((id) => copies.has(id)).length,
    lost,
    doubled,
    landedUnknown: landedUnknown.length,
    recordsCompared: fold.size,
    wrongRecords,
  };
}

/** Every Postgres score record of the boards against the fold; returns the differences. */
export async function compareRecords(
  stack: Stack,
  boards: BoardSpec[],
  fold: Fold,
): Promise<string[]> {
  const rows = await stack.query<{
    board_id: string;
    period_key: string;
    player_id: string;
    score: string;
    reached_ms: string;
  }>(
    `select board_id, period_key, player_id, score::text as score, (extract(epoch from reached_at) * 1000)::bigint::text as reached_ms
     from scores where board_id = any($1::text[])`,
    [boards.map((b) => b.id)],
  );
  const wrong: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const slot = `${row.board_id}|${row.period_key}|${row.player_id}`;
    seen.add(slot);
    const want = fold.get(slot);
    if (!want) wrong.push(`${slot}: Postgres ${row.score}, the fold has no such record`);
    else if (String(want.score) !== row.score || String(want.reachedAt) !== row.reached_ms) {
      wrong.push(
        `${slot}: Postgres ${row.score} at ${row.reached_ms}, fold ${want.score} at ${want.reachedAt}`,
      );
    }
  }
  for (const [slot, want] of fold)
    if (!seen.has(slot)) wrong.push(`${slot}: missing in Postgres, fold ${want.score}`);
  return wrong;
}

/** "0 lost, 0 doubled" or the counts with a few ids. */
export function ledgerLine(check: LedgerCheck): string {
  return (
    `${fmt(check.accepted)} accepted, ${fmt(check.persisted)} persisted, ${fmt(check.lost.length)} lost, ${fmt(check.doubled.length)} doubled; ` +
    `${fmt(check.recordsCompared)} score records vs the reference fold: ${fmt(check.wrongRecords.length)} wrong`
  );
}

export function ledgerFailures(check: LedgerCheck, where: string): string[] {
  const failures: string[] = [];
  if (check.lost.length > 0) {
    failures.push(
      `${fmt(check.lost.length)} events answered 202 are not in Postgres' events table (e.g. ${check.lost.slice(0, 3).join(", ")}); ` +
        `look for consumer errors and dead letters in ${where}`,
    );
  }
  if (check.doubled.length > 0) {
    failures.push(
      `${fmt(check.doubled.length)} events are stored more than once (${check.doubled.slice(0, 3).join(", ")}): the event_ids dedupe failed`,
    );
  }
  if (check.wrongRecords.length > 0) {
    failures.push(
      `${fmt(check.wrongRecords.length)} score records differ from the fold of the landed events: ${check.wrongRecords.slice(0, 3).join("; ")}`,
    );
  }
  return failures;
}

/** Waits until every accepted event is in Postgres (or the deadline); returns how many are. */
export async function waitForPersisted(
  stack: Stack,
  ids: string[],
  timeoutMs: number,
): Promise<{ persisted: number; seconds: number }> {
  const started = Date.now();
  let persisted = 0;
  for (;;) {
    persisted = await stack
      .query<{ n: number }>(
        "select count(distinct event_id)::int as n from events where event_id = any($1::text[])",
        [ids],
      )
      .then((r) => r[0]?.n ?? 0)
      .catch(() => persisted);
    if (persisted >= ids.length || Date.now() - started > timeoutMs)
      return { persisted, seconds: (Date.now() - started) / 1000 };
    await sleep(500);
  }
}

export interface TopEntry {
  playerId: string;
  score: string;
}

/**
 * The top `limit` of a board-period in Postgres, in the API's order (sort_score, reached_at,
 * player_id).
 */
export async function postgresTop(
  stack: Stack,
  boardId: string,
  periodKey: string,
  limit: number,
): Promise<{ top: TopEntry[]; total: number }> {
  const rows = await stack.query<{ player_id: string; score: string; total: number }>(
    `select player_id, score::text as score, count(*) over ()::int as total from scores
     where board_id = $1 and period_key = $2 order by sort_score, reached_at, player_id`,
    [boardId, periodKey],
  );
  return {
    top: rows.slice(0, limit).map((r) => ({ playerId: r.player_id, score: r.score })),
    total: rows[0]?.total ?? 0,
  };
}

/**
 * The page the Durable Object serves (edge cache bypassed), with each score as the JSON text
 * says it, so precision lost on the way shows up.
 */
export async function objectTop(
  stack: Stack,
  boardId: string,
  period: PeriodKind,
  limit: number,
  traffic?: Traffic,
): Promise<{ top: TopEntry[]; total: number; periodKey: string }> {
  const answer = await call(
    stack.worker.base,
    "GET",
    `/v1/leaderboards/${boardId}?period=${period}&limit=${limit}`,
    {
      headers: { "x-edgeboard-cache": "bypass" },
      ...(traffic ? { traffic, route: "GET page (cache bypassed)" } : {}),
    },
  );
  if (answer.status !== 200)
    throw new Error(
      `the page of ${boardId} (${period}) answered ${answer.status}: ${answer.text.slice(0, 300)}`,
    );
  const page = answer.json as {
    total: number;
    periodKey: string;
    entries: Array<{ playerId: string }>;
  };
  const scores = [...answer.text.matchAll(/"score":(-?[0-9.eE+]+)/g)].map((m) => m[1] as string);
  return {
    top: page.entries.map((e, i) => ({ playerId: e.playerId, score: scores[i] ?? "?" })),
    total: page.total,
    periodKey: page.periodKey,
  };
}

/** "" when equal, else where the two tops first differ. */
export function topDifference(
  object: { top: TopEntry[]; total: number },
  postgres: { top: TopEntry[]; total: number },
): string {
  const length = Math.max(object.top.length, postgres.top.length);
  for (let i = 0; i < length; i++) {
    const a = object.top[i];
    const b = postgres.top[i];
    if (a?.playerId !== b?.playerId || a?.score !== b?.score) {
      return `rank ${i + 1}: the object has ${a ? `${a.playerId}=${a.score}` : "nothing"}, Postgres ${b ? `${b.playerId}=${b.score}` : "nothing"}`;
    }
  }
  if (object.total !== postgres.total)
    return `total: the object says ${object.total}, Postgres counts ${postgres.total}`;
  return "";
}
