/**
 * A player's rank and around-me in a tournament instance, like a board's: a finalised instance
 * answers from its frozen rows (final, whatever arrives later), an open one from the board-period
 * of the tournament's hidden board through the board read path.
 */
import { percentile } from "../../domain";
import type { Tournament } from "../../stores/postgres/schema";
import { finalisationOf, frozenAround, type StandingRow } from "../../stores/postgres/standings";
import { requireBoard } from "../boards";
import {
  type EntryView,
  type ReadContext,
  readAround,
  readPlayerRank,
  type Source,
} from "../leaderboards/reads";

export const frozenEntry = (r: StandingRow): EntryView => ({
  rank: r.rank,
  playerId: r.playerId,
  ...(r.displayName ? { displayName: r.displayName } : {}),
  score: r.score,
  reachedAt: r.reachedAt,
  ...(r.metadata ? { metadata: r.metadata } : {}),
});

/** Where an instance read came from: the frozen rows, or the board-period's read path. */
type StandingSource = Source | "final";

export interface InstancePlayer {
  tournament: string;
  instance: string;
  final: boolean;
  playerId: string;
  score: number;
  rank: number;
  total: number;
  percentile: number;
  reachedAt: string;
  displayName?: string;
  source: StandingSource;
}

/**
 * A player's rank in an instance, or null when they have none: from the frozen rows once the
 * instance is finalised, else like a board (Redis, the Durable Object, Postgres).
 */
export async function readInstancePlayer(
  reads: ReadContext,
  t: Tournament,
  instanceKey: string,
  playerId: string,
): Promise<InstancePlayer | null> {
  const head = { tournament: t.id, instance: instanceKey };
  const db = reads.db();
  const frozen = await finalisationOf(db, t.id, instanceKey);
  if (frozen) {
    const [row] = await frozenAround(db, t.id, instanceKey, playerId, 0);
    if (!row) return null;
    return {
      ...head,
      final: true,
      playerId,
      score: row.score,
      rank: row.rank,
      total: frozen.players,
      percentile: percentile(row.rank, Math.max(frozen.players, row.rank)),
      reachedAt: row.reachedAt,
      ...(row.displayName ? { displayName: row.displayName } : {}),
      source: "final",
    };
  }
  const board = await requireBoard(reads.db, t.boardId);
  const standing = await readPlayerRank(reads, board, instanceKey, playerId);
  return standing ? { ...head, final: false, ...standing } : null;
}

/** n players above and n below a player in an instance (fewer at the edges), or null. */
export async function readInstanceAround(
  reads: ReadContext,
  t: Tournament,
  instanceKey: string,
  playerId: string,
  n: number,
): Promise<{
  tournament: string;
  instance: string;
  final: boolean;
  total: number;
  entries: EntryView[];
  source: StandingSource;
} | null> {
  const head = { tournament: t.id, instance: instanceKey };
  const db = reads.db();
  const frozen = await finalisationOf(db, t.id, instanceKey);
  if (frozen) {
    const rows = await frozenAround(db, t.id, instanceKey, playerId, n);
    if (rows.length === 0) return null;
    const entries = rows.map(frozenEntry);
    return { ...head, final: true, total: frozen.players, entries, source: "final" };
  }
  const board = await requireBoard(reads.db, t.boardId);
  const around = await readAround(reads, board, instanceKey, playerId, n);
  return around ? { ...head, final: false, ...around } : null;
}
