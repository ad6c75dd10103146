/**
 * What every projection of a score record (the Durable Object top-N, Redis, JSON responses) needs
 * of it: numbers it can hold exactly and a player id it can key by. The batch writer keeps every
 * stored record this way; the check runs again before a projection so that one record that is
 * not (a bug, a hand edit) is set aside for repair instead of failing its whole batch.
 */
const MAX_PROJECTED_PLAYER_ID = 256;

export interface ProjectedRecord {
  readonly playerId?: unknown;
  readonly score?: unknown;
  readonly reachedAt?: unknown;
  readonly version?: unknown;
}

const isSafeInt = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value);

/** Why the record cannot be projected, or null when it can. */
export function projectionProblem(record: ProjectedRecord): string | null {
  if (
    typeof record.playerId !== "string" ||
    record.playerId.length === 0 ||
    record.playerId.length > MAX_PROJECTED_PLAYER_ID
  ) {
    return `playerId must be 1..${MAX_PROJECTED_PLAYER_ID} characters`;
  }
  if (!isSafeInt(record.score)) return "score must be a safe integer";
  if (!isSafeInt(record.reachedAt)) return "reachedAt must be integer epoch ms";
  if (!isSafeInt(record.version) || record.version < 1) return "version must be a positive integer";
  return null;
}

/** The state of a (board, period, player) record after the batch: what DOs and Redis mirror. */
export interface ScoreChange {
  boardId: string;
  periodKey: string;
  playerId: string;
  score: number;
  reachedAt: number;
  /** Row version (bumped per update in commit order): projections apply only newer versions. */
  version: number;
  displayName: string | null;
  metadata: Record<string, unknown> | null;
  /**
   * False when the batch did not move this record but names it in an already-seen event (a
   * redelivery): projected again.
   */
  changed: boolean;
}
