import { type Caller, scoreWriteRefusal } from "../../domain";
import type { EventBody, EventsMessage } from "../../domain/messages";
import type { AppBindings } from "../../env";
import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/log";
import { jsonBytes, sendBatches } from "../../lib/send-batches";
import { bannedPlayers } from "../../stores/cache/bans";
import { getBoards } from "../../stores/cache/boards";
import type { Database } from "../../stores/postgres/client";
import { bannedPlayerIds } from "../../stores/postgres/moderation";
import type { Board } from "../../stores/postgres/schema";
import { isTournamentBoardId } from "../../stores/postgres/tournaments";
import { boardLoader } from "../boards";
import { acceptanceWindow } from "../leaderboards/period-selection";
import {
  admitTournamentEvent,
  loadNamedTournaments,
  routeTournamentEvent,
  type TournamentRoute,
} from "../tournaments/event-gate";
import {
  countRejections,
  type IngestLimits,
  isScoreEvent,
  type ParsedItem,
  parseItem,
  type Rejection,
  toEventMessage,
} from "./event-validation";
import { limitScoreEvents, type ValidEvent } from "./score-event-rate";

export interface IngestResult {
  accepted: number;
  rejected: Rejection[];
}

function ingestLimits(env: AppBindings): IngestLimits {
  return { ...acceptanceWindow(env), maxPayloadBytes: 8 * 1024 };
}

/**
 * Validates every item on its own (a bad item never sinks its neighbours), then puts the valid
 * ones on the queues and returns. Nothing is written to Postgres here: the request is done as soon
 * as the queue has the events, which is what keeps a burst of players off the database.
 */
export async function ingestEvents(
  env: AppBindings,
  db: () => Database,
  items: unknown[],
  /**
   * Who sends them: a player token sends its own player's events only, and none to
   * server-authoritative boards.
   */
  caller: Caller,
  now = Date.now(),
): Promise<IngestResult> {
  const rejected: Rejection[] = [];
  const parsed = items.map((raw, index) => parseItem(raw, index));
  const routes = await routeTournaments(db, parsed, now);
  const boardIds = parsed.flatMap((p) => (p.ok && p.event.boardId ? [p.event.boardId] : []));
  const boards = boardIds.length ? await getBoards(boardIds, boardLoader(db)) : new Map();
  const banned = await bannedPlayers(() => bannedPlayerIds(db()));

  const limits = ingestLimits(env);
  const valid: ValidEvent[] = [];
  for (const item of parsed) {
    if (!item.ok) {
      rejected.push(item.rejection);
      continue;
    }
    if (banned.has(item.event.playerId)) {
      const message = `player "${item.event.playerId}" is banned; their events are not accepted`;
      rejected.push({ index: item.index, error: { code: "PLAYER_BANNED", message } });
      continue;
    }
    const route = routes.get(item.index);
    // A tournament's hidden board takes scores only through its tournament's rules.
    const boardId = item.event.boardId;
    const board =
      boardId && (route || !isTournamentBoardId(boardId)) ? boards.get(boardId) : undefined;
    const refusal = writeRefusal(caller, item.event.playerId, board);
    if (refusal) {
      rejected.push({ index: item.index, error: { code: "FORBIDDEN", message: refusal } });
      continue;
    }
    const checked = toEventMessage(item.event, item.index, board, now, limits);
    if (!checked.ok) {
      rejected.push(checked.rejection);
      continue;
    }
    const refused = route ? await admitTournamentEvent(db, route, checked.message) : null;
    if (refused) rejected.push({ index: item.index, error: refused });
    else
      valid.push({
        index: item.index,
        message: route ? { ...checked.message, periodKey: route.periodKey } : checked.message,
      });
  }
  // Last, so only events that would otherwise be accepted count against a per-minute limit.
  const limited = await limitScoreEvents(env, boards, valid, now);
  const messages = limited.accepted;
  rejected.push(...limited.rejected);
  rejected.sort((a, b) => a.index - b.index);
  countRejections(rejected);

  const scores = pack(messages.filter(isScoreEvent));
  const analytics = pack(messages.filter((m) => !isScoreEvent(m)));
  if (rejected.length > 0) {
    // The refused count rides along for the ingest stats, on a message of its own if need be.
    const carrier = analytics[0] ?? scores[0];
    if (carrier) carrier.body.rejected = rejected.length;
    else
      analytics.push({
        body: { kind: "events", events: [], rejected: rejected.length },
        bytes: 40,
      });
  }

  try {
    await Promise.all([
      sendAll(env.SCORE_EVENTS, scores),
      sendAll(env.ANALYTICS_EVENTS, analytics),
    ]);
  } catch (error) {
    log.error("ingest: queue send failed", {
      error: describeError(error),
      events: messages.length,
    });
    throw new ApiError(
      "DEPENDENCY_UNAVAILABLE",
      "The event queue is unavailable; retry the whole request with backoff " +
        "(events are idempotent by id, so a retry never double-counts)",
    );
  }
  return { accepted: messages.length, rejected };
}

/**
 * Resolves the events naming a tournament: a refused one becomes its rejection, a routed one names
 * the tournament's hidden board from here on (so every board check applies to it), and its route
 * (board, instance key) is returned by item index.
 */
async function routeTournaments(
  db: () => Database,
  parsed: ParsedItem[],
  now: number,
): Promise<Map<number, TournamentRoute>> {
  const routes = new Map<number, TournamentRoute>();
  const named = parsed.flatMap((p) => (p.ok && p.event.tournamentId ? [p.event.tournamentId] : []));
  if (named.length === 0) return routes;
  const tournaments = await loadNamedTournaments(db, named);
  for (const [i, p] of parsed.entries()) {
    if (!p.ok || p.event.tournamentId === undefined) continue;
    const route = routeTournamentEvent(
      tournaments,
      { tournamentId: p.event.tournamentId, boardId: p.event.boardId },
      now,
    );
    if ("code" in route) {
      parsed[i] = { ok: false, rejection: { index: p.index, error: route } };
      continue;
    }
    routes.set(p.index, route);
    parsed[i] = { ...p, event: { ...p.event, boardId: route.boardId } };
  }
  return routes;
}

/** Why this caller may not send this event, or null (see scoreWriteRefusal). */
function writeRefusal(caller: Caller, playerId: string, board: Board | undefined): string | null {
  if (board) return scoreWriteRefusal(caller, playerId, board.clientWrites);
  if (caller.kind === "player" && caller.playerId !== playerId) {
    return `a player token for "${caller.playerId}" cannot send events for "${playerId}"`;
  }
  return null;
}

/** A queue message holds at most 100 events and must stay under 128 KB (with headroom). */
const PACK_MAX_EVENTS = 100;
const PACK_MAX_BYTES = 120_000;

/** A queue message and its size in bytes as JSON (what the queue's limits count). */
interface PackedMessage {
  body: EventsMessage;
  bytes: number;
}

/**
 * Packs events into as few messages as the size limits allow (usually one per request). Sizes are
 * UTF-8 bytes, measured once per event here and reused when the messages are sent.
 */
function pack(events: EventBody[]): PackedMessage[] {
  const packed: PackedMessage[] = [];
  let current: EventBody[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = jsonBytes(event) + 1;
    if (
      current.length === PACK_MAX_EVENTS ||
      (current.length > 0 && bytes + size > PACK_MAX_BYTES)
    ) {
      packed.push({ body: { kind: "events", events: current }, bytes });
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) packed.push({ body: { kind: "events", events: current }, bytes });
  return packed;
}

async function sendAll(queue: Queue, messages: PackedMessage[]): Promise<void> {
  const batches = sendBatches(messages, (message) => message.bytes);
  await Promise.all(
    batches.map((batch) =>
      queue.sendBatch(batch.map((m) => ({ body: m.body, contentType: "json" as const }))),
    ),
  );
}
