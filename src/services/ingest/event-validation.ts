import { unstorableJson } from "../../domain";
import type { EventBody } from "../../domain/messages";
import type { RejectionCode } from "../../domain/rejection-codes";
import { type Counter, count } from "../../lib/metrics";
import type { Board } from "../../stores/postgres/schema";
import { type EventInput, EventInputSchema } from "./event-input";

export interface Rejection {
  index: number;
  error: { code: RejectionCode; message: string };
}

/**
 * The codes of the board's own sanity rules, counted for /v1/admin/metrics (the rest only in the
 * ingest stats' total).
 */
const REJECTION_COUNTERS: Partial<Record<RejectionCode, Counter>> = {
  INCREMENT_TOO_LARGE: "rejectedIncrementTooLarge",
  TOO_MANY_SCORE_EVENTS: "rejectedTooManyScoreEvents",
};

/** Counts a request's rejections by code in the isolate's metrics. */
export function countRejections(rejected: readonly Rejection[]): void {
  for (const r of rejected) {
    const counter = REJECTION_COUNTERS[r.error.code];
    if (counter) count(counter);
  }
}

export interface IngestLimits {
  maxAgeMs: number;
  maxFutureMs: number;
  /**
   * Bytes of an analytics payload's JSON; keeps a queue message far below its 128 KB cap. Metadata
   * has its own, smaller bound in the event schema (it is shown on every page).
   */
  maxPayloadBytes: number;
}

/** Event types that carry a score by definition; any event naming a board carries one too. */
const SCORE_TYPES = new Set(["game_ended", "score"]);

export type ParsedItem =
  | { ok: true; index: number; event: EventInput }
  | { ok: false; rejection: Rejection };

/** Schema check of one raw item; the message names the first bad field. */
export function parseItem(raw: unknown, index: number): ParsedItem {
  const unstorable = unstorableJson(raw);
  if (unstorable)
    return {
      ok: false,
      rejection: { index, error: { code: "UNSTORABLE_TEXT", message: unstorable } },
    };
  const parsed = EventInputSchema.safeParse(raw);
  if (parsed.success) return { ok: true, index, event: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return {
    ok: false,
    rejection: {
      index,
      error: { code: "INVALID_EVENT", message: `${where}${issue?.message ?? "invalid event"}` },
    },
  };
}

const utf8 = new TextEncoder();

/**
 * Semantic checks once the item parsed and its board is known: the rules a schema cannot express
 * (score range per board, time window relative to now, payload size). Returns the queue message,
 * or the reason the item is refused. Pure: `now` and the board come from the caller.
 */
export function toEventMessage(
  event: EventInput,
  index: number,
  board: Board | undefined,
  now: number,
  limits: IngestLimits,
): { ok: true; message: EventBody } | { ok: false; rejection: Rejection } {
  const reject = (code: RejectionCode, message: string) => ({
    ok: false as const,
    rejection: { index, error: { code, message } },
  });

  const occurredAt = Date.parse(event.occurredAt);
  if (occurredAt < now - limits.maxAgeMs) {
    return reject(
      "TOO_OLD",
      `occurredAt is more than ${Math.round(limits.maxAgeMs / 3_600_000)} h in the past; ` +
        "such events are not accepted",
    );
  }
  if (occurredAt > now + limits.maxFutureMs) {
    return reject(
      "TOO_FAR_IN_FUTURE",
      `occurredAt is more than ${Math.round(limits.maxFutureMs / 1000)} s ` +
        "ahead of the server clock; check the device clock",
    );
  }

  const scoreBearing = SCORE_TYPES.has(event.type) || event.boardId !== undefined;
  if (scoreBearing) {
    if (event.boardId === undefined)
      return reject("BOARD_REQUIRED", `a "${event.type}" event must name its boardId`);
    if (event.score === undefined)
      return reject("SCORE_REQUIRED", "an event with a boardId must carry a score");
    if (!Number.isFinite(event.score))
      return reject("INVALID_SCORE", "score must be a finite number");
    if (!Number.isInteger(event.score))
      return reject("INVALID_SCORE", "score must be an integer (send times in milliseconds)");
    if (!Number.isSafeInteger(event.score))
      return reject("SCORE_OUT_OF_RANGE", "score must be within ±9007199254740991");
    if (!board)
      return reject(
        "UNKNOWN_BOARD",
        `board "${event.boardId}" does not exist; create it with POST /v1/admin/boards`,
      );
    // An archived board keeps its records as they were: nothing may move them any more.
    if (board.archivedAt)
      return reject(
        "BOARD_ARCHIVED",
        `board "${event.boardId}" was archived on ${board.archivedAt.toISOString()}; ` +
          "it takes no more scores",
      );
    const tooLarge = incrementTooLarge(board, event.score);
    if (tooLarge) return reject("INCREMENT_TOO_LARGE", tooLarge);
    const outOfRange = scoreOutOfRange(board, event.score);
    if (outOfRange) return reject("SCORE_OUT_OF_RANGE", outOfRange);
  } else if (event.score !== undefined && !Number.isSafeInteger(event.score)) {
    return reject("INVALID_SCORE", "score must be an integer within ±9007199254740991");
  }

  const payloadBytes =
    event.payload === undefined ? 0 : utf8.encode(JSON.stringify(event.payload)).byteLength;
  if (payloadBytes > limits.maxPayloadBytes) {
    return reject(
      "PAYLOAD_TOO_LARGE",
      `payload is ${payloadBytes} bytes of JSON; the limit is ${limits.maxPayloadBytes}`,
    );
  }

  return {
    ok: true,
    message: {
      id: normaliseEventId(event.id),
      type: event.type,
      playerId: event.playerId,
      occurredAt,
      receivedAt: now,
      ...(event.boardId !== undefined ? { boardId: event.boardId } : {}),
      ...(event.tournamentId !== undefined ? { tournamentId: event.tournamentId } : {}),
      ...(event.score !== undefined ? { score: event.score } : {}),
      ...(event.displayName !== undefined ? { displayName: event.displayName } : {}),
      ...(event.metadata !== undefined ? { metadata: event.metadata } : {}),
      ...(event.payload !== undefined ? { payload: event.payload } : {}),
    },
  };
}

/**
 * Why a step exceeds the board's declared maxIncrement, or null. Rejected rather than clipped: a
 * step this large is a bug or a cheat, and a clipped one would still move the board.
 */
function incrementTooLarge(board: Board, score: number): string | null {
  const max = board.maxIncrement ?? null;
  if (board.operator !== "increment" || max === null || Math.abs(score) <= max) return null;
  return `a step of ${score} exceeds this board's maxIncrement of ${max} (in absolute value)`;
}

/**
 * Why a score can never apply to this board, or null. A best/latest score is the record, so it
 * must lie within the board's bounds; an increment is a step, which may be negative, and only one
 * larger than the whole range can be refused here: whether a step takes its record out of bounds
 * depends on the record, which the batch statement decides (refused or clamped, per board).
 */
function scoreOutOfRange(board: Board, score: number): string | null {
  const lo = board.minScore ?? Number.MIN_SAFE_INTEGER;
  const hi = board.maxScore ?? Number.MAX_SAFE_INTEGER;
  if (board.operator === "increment") {
    const span = hi - lo;
    return Math.abs(score) > span
      ? `an increment of ${score} is larger than this board's whole score range (${lo}..${hi})`
      : null;
  }
  if (score > hi) return `score ${score} is above this board's maxScore ${hi}`;
  if (score < lo) return `score ${score} is below this board's minScore ${lo}`;
  return null;
}

/** UUIDs are case-insensitive, ULIDs are canonically upper case: one spelling per id. */
function normaliseEventId(id: string): string {
  return id.length === 26 ? id.toUpperCase() : id.toLowerCase();
}

/** Score events ride their own queue so analytics floods never delay a leaderboard. */
export function isScoreEvent(message: EventBody): boolean {
  return message.boardId !== undefined;
}
