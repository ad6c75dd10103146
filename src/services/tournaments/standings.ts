import {
  decodeCursor,
  encodeCursor,
  instanceAt,
  instanceByKey,
  lastEndedInstance,
} from "../../domain";
import { ApiError } from "../../lib/errors";
import type { Tournament } from "../../stores/postgres/schema";
import { finalisationOf, standingsPage } from "../../stores/postgres/standings";
import { requireBoard } from "../boards";
import { type EntryView, type ReadContext, readPage } from "../leaderboards/reads";
import { timesOf } from "./definitions";
import { frozenEntry } from "./player-standings";

export interface StandingsPage {
  tournament: string;
  instance: string;
  /** True once the instance is finalised: the standings are frozen in Postgres. */
  final: boolean;
  total: number;
  entries: EntryView[];
  nextCursor: string | null;
}

/** The instance a read names: `instance=` or the one running, else the last that ended. */
export function readableInstance(t: Tournament, instance: string | undefined, now: number) {
  const times = timesOf(t);
  const found =
    instance !== undefined
      ? instanceByKey(times, instance)
      : (instanceAt(times, now) ?? lastEndedInstance(times, now));
  if (!found)
    throw new ApiError(
      "NOT_FOUND",
      instance === undefined
        ? `Tournament "${t.id}" has not started yet`
        : `Tournament "${t.id}" has no instance "${instance}"`,
    );
  return found;
}

const RANK_CURSOR = /^r([1-9]\d{0,8})$/;

/**
 * A page of an instance's standings. A finalised instance answers from its frozen rows (cursor:
 * the last rank); an open one is a board-period of the hidden board, read like any board page
 * (Durable Object top-N, then Redis, then Postgres).
 */
export async function readStandings(
  reads: ReadContext,
  t: Tournament,
  instanceKey: string,
  options: { limit: number; cursor?: string | undefined },
): Promise<StandingsPage> {
  const db = reads.db();
  const frozen = await finalisationOf(db, t.id, instanceKey);
  const bad = () =>
    new ApiError("BAD_REQUEST", "cursor is not a nextCursor of this instance; start without it");
  if (frozen) {
    const match = options.cursor === undefined ? null : RANK_CURSOR.exec(options.cursor);
    if (options.cursor !== undefined && !match) throw bad();
    const rows = await standingsPage(
      db,
      t.id,
      instanceKey,
      Number(match?.[1] ?? 0),
      options.limit + 1,
    );
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      tournament: t.id,
      instance: instanceKey,
      final: true,
      total: frozen.players,
      entries: page.map(frozenEntry),
      nextCursor: rows.length > options.limit && last ? `r${last.rank}` : null,
    };
  }
  const cursor = options.cursor === undefined ? null : decodeCursor(options.cursor);
  if (options.cursor !== undefined && (!cursor || cursor.period !== instanceKey)) throw bad();
  const board = await requireBoard(reads.db, t.boardId);
  const page = await readPage(reads, board, instanceKey, {
    limit: options.limit,
    after: cursor ?? undefined,
  });
  const last = page.entries.at(-1);
  return {
    tournament: t.id,
    instance: instanceKey,
    final: false,
    total: page.total,
    entries: page.entries,
    nextCursor:
      page.hasMore && last
        ? encodeCursor({
            period: instanceKey,
            score: last.score,
            reachedAt: Date.parse(last.reachedAt),
            playerId: last.playerId,
          })
        : null,
  };
}
