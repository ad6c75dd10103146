/**
 * Per-item rejection codes of POST /v1/events: part of the API contract, listed in the OpenAPI
 * document.
 */
export const REJECTION_CODES = [
  "INVALID_EVENT",
  "BOARD_REQUIRED",
  "SCORE_REQUIRED",
  "INVALID_SCORE",
  "SCORE_OUT_OF_RANGE",
  "UNKNOWN_BOARD",
  "TOO_OLD",
  "TOO_FAR_IN_FUTURE",
  "PAYLOAD_TOO_LARGE",
  "UNSTORABLE_TEXT",
  "FORBIDDEN",
  "INCREMENT_TOO_LARGE",
  "TOO_MANY_SCORE_EVENTS",
  "BOARD_ARCHIVED",
  "UNKNOWN_TOURNAMENT",
  "TOURNAMENT_NOT_RUNNING",
  "TOURNAMENT_NOT_JOINED",
  "TOURNAMENT_FULL",
  "TOURNAMENT_ATTEMPTS_EXHAUSTED",
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];
