/**
 * Public surface of the pure domain layer (periods, score operators,
 * ranking). The rest of the app imports from here so internals can move
 * between files without touching callers.
 */

export { boardPeriodKey } from "./board-period-key";
export type { Caller, Scope } from "./caller";
export { ANONYMOUS, actorOf, hasScope, SCOPES, scoreWriteRefusal } from "./caller";
export { corsOriginProblems, parseCorsOrigins } from "./cors-origins";
export {
  DISPLAY_NAME_MAX_CHARS,
  displayNameProblem,
  METADATA_MAX_BYTES,
  METADATA_MAX_DEPTH,
  METADATA_MAX_KEYS,
  metadataProblem,
} from "./displayed-fields";
export type { JobHealth, JobName } from "./jobs";
export { expectedJobs, JOB_NAMES, jobHealth } from "./jobs";
export type { ScoreEvent, ScoreOperator, ScoreRecord, SortOrder } from "./operators";
export {
  applyOperator,
  isBetterScore,
  mergeBatch,
  recordAsEvent,
  SCORE_OPERATORS,
  SORT_ORDERS,
} from "./operators";
export type { PeriodKind, WeekStart } from "./periods";
export {
  ALL_TIME_KEY,
  currentPeriodKey,
  isValidPeriodKey,
  isValidTimeZone,
  nextPeriodKey,
  PERIOD_KINDS,
  parsePeriodKey,
  periodKey,
  periodKeysFor,
  periodRange,
  previousPeriodKey,
  resolvePeriodKey,
} from "./periods";
export type { PageCursor, RankedEntry } from "./ranking";
export {
  compareEntries,
  decodeCursor,
  encodeCursor,
  isAfterCursor,
  percentile,
  rankOf,
} from "./ranking";
export { projectionProblem } from "./records";
export type { AcceptanceWindow } from "./retention";
export {
  DEFAULT_PAST_PERIOD_DAYS,
  dedupeHorizonMs,
  IDEMPOTENCY_DAYS_AHEAD,
  IDEMPOTENCY_WINDOW_DAYS,
  parsePastPeriodDays,
  pastPeriodExpiryMs,
  periodKindOfKey,
  READABLE_PAST_DAYS,
  unreadablePeriod,
  utcDayFrom,
} from "./retention";
export type { RollupBounds, RollupSpan } from "./rollups";
export {
  bucketStart,
  parseRollupBounds,
  ROLLUP_SPANS,
  ROLLUP_STEP_ROWS,
  rollupFreshness,
  SETTLE_MS,
  statsRangeProblem,
} from "./rollups";
export { unstorableJson } from "./storable-json";
export type { Bracket, Schedule, TournamentStatus, TournamentTimes } from "./tournaments";
export {
  boardPrizesProblem,
  bracketsProblem,
  instanceAt,
  instanceByKey,
  lastEndedInstance,
  nextInstance,
  scheduleProblem,
  tournamentStatus,
} from "./tournaments";
