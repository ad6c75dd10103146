/**
 * Bodies for POST /v1/events. The route judges each item on its own and answers 202 with per-item
 * rejections, so a schema-broken envelope is not enough to keep a valid credential from writing:
 * with one, every item is broken on its own, by its schema or by a rule of its board.
 */
import { deeplyNested, oddText, oddValue, type Random } from "./hostile";
import type { Schema } from "./operations";
import { brokenValue, type Hints, uuid, withNoise } from "./schema-values";

export interface EventWorld {
  /** The Event schema of the document (the object branch of the body's union). */
  eventSchema: Schema;
  openBoard: string;
  /** clientWrites:false, operator increment with maxIncrement INCREMENT_LIMIT. */
  authoritativeBoard: string;
  player: string;
  hints: Hints;
}

export const INCREMENT_LIMIT = 100;

export type Sender = "admin" | "player" | "other";

const DAY = 86_400_000;

function plausibleItem(world: EventWorld, rng: Random): Record<string, unknown> {
  const item: Record<string, unknown> = {
    id: uuid(rng),
    type: rng.pick(["score", "game_ended", "level_up", "purchase"]),
    playerId: rng.next() < 0.7 ? world.player : `fz-${rng.int(0, 9999)}`,
    occurredAt: new Date(Date.now() - rng.int(0, 60_000)).toISOString(),
  };
  if (rng.next() < 0.7) {
    item.boardId = rng.next() < 0.8 ? world.openBoard : world.authoritativeBoard;
    item.score = rng.int(-50, 50);
  }
  if (rng.next() < 0.2) item.displayName = rng.next() < 0.5 ? "Fuzzy" : oddText(rng).slice(0, 64);
  if (rng.next() < 0.2) item.metadata = { level: rng.int(1, 9) };
  return item;
}

/**
 * An item the API must refuse whoever sends it (for "player", the fuzz's own player token),
 * by its schema or by a rule that holds for every board and clock.
 */
function refusedItem(world: EventWorld, rng: Random, sender: Sender): unknown {
  const item = plausibleItem(world, rng);
  const ways: Array<() => unknown> = [
    () => brokenValue(world.eventSchema, rng, world.hints)?.value ?? [],
    () => ({
      ...item,
      occurredAt: rng.pick(["2000-01-01T00:00:00Z", new Date(Date.now() - 30 * DAY).toISOString()]),
    }),
    () => ({
      ...item,
      occurredAt: rng.pick(["9999-12-31T23:59:59Z", new Date(Date.now() + DAY).toISOString()]),
    }),
    () => ({ ...item, boardId: `fz-nope-${rng.int(0, 1e9)}`, score: rng.int(-100, 100) }),
    () => ({ ...withoutBoard(item), type: rng.pick(["score", "game_ended"]) }),
    () => ({ ...withoutScore(item), boardId: world.openBoard }),
    () => ({
      ...item,
      boardId: world.openBoard,
      score: rng.pick([0.5, -1.25, 1e308, 2 ** 53 + 2, -(2 ** 53) - 2]),
    }),
    () => ({ ...item, payload: { note: rng.pick(["a\u0000b", "\ud800", "x\udfff"]) } }),
    () => ({
      ...item,
      metadata: JSON.parse(deeplyNested(rng, rng.pick([40, 1000]))) as unknown,
      boardId: undefined,
    }),
    () => ({ ...item, payload: { blob: "p".repeat(9 * 1024) } }),
    () => ({
      ...item,
      boardId: world.authoritativeBoard,
      score: rng.pick([INCREMENT_LIMIT + 1, -10_000, 2 ** 40]),
    }),
  ];
  if (sender === "player") {
    ways.push(() => ({ ...item, playerId: `fz-someone-${rng.int(0, 1e6)}` }));
    ways.push(() => ({
      ...item,
      playerId: world.player,
      boardId: world.authoritativeBoard,
      score: 1,
    }));
  }
  return rng.pick(ways)();
}

function withoutBoard(item: Record<string, unknown>): Record<string, unknown> {
  const { boardId: _board, score: _score, ...rest } = item;
  return rest;
}

function withoutScore(item: Record<string, unknown>): Record<string, unknown> {
  const { score: _score, ...rest } = item;
  return rest;
}

/** A body for a sender; with a valid credential every item is refused. */
export function eventsBody(
  world: EventWorld,
  rng: Random,
  sender: Sender,
  maxBatch: number,
): unknown {
  const item = () =>
    sender === "other" && rng.next() < 0.4
      ? plausibleItem(world, rng)
      : refusedItem(world, rng, sender);
  const noisy = () => (rng.next() < 0.2 ? withNoise(item(), rng) : item());
  const shape = rng.int(0, 99);
  if (shape < 45) return noisy();
  if (shape < 80) return { events: Array.from({ length: rng.int(1, 6) }, noisy) };
  if (shape < 83) return { events: Array.from({ length: maxBatch + rng.int(1, 20) }, item) };
  if (shape < 86) return { events: Array.from({ length: rng.int(20, maxBatch) }, item) };
  return rng.pick<() => unknown>([
    () => ({ events: [] }),
    () => ({ events: oddValue(rng) }),
    () => ({ events: {} }),
    () => ({ events: null }),
    () => [item(), item()],
    () => [],
    () => oddText(rng),
    () => 42,
    () => null,
    () => ({ events: [item()], extra: oddValue(rng) }),
    () => ({ events: [[item()]] }),
  ])();
}
