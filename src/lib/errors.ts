import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * Every error code the API can return, with its HTTP status. Codes are part of the API contract.
 */
export const errorStatus = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  /** POST /v1/tournaments/:id/join on an instance whose places are all taken. */
  TOURNAMENT_FULL: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UPGRADE_REQUIRED: 426,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  DEPENDENCY_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

/**
 * The code that stands for an HTTP status (the first listed, so 400 is BAD_REQUEST), for errors
 * raised with a bare status by Hono or its validators; undefined for a status no code has.
 */
export function codeOfStatus(status: number): ErrorCode | undefined {
  return (Object.keys(errorStatus) as ErrorCode[]).find((code) => errorStatus[code] === status);
}

/** The one error shape: `{error: {code, message, requestId, ...details}}`. */
export type ErrorBody = {
  error: { code: ErrorCode; message: string; requestId: string; [detail: string]: unknown };
};

/**
 * The one error class routes throw. The status follows from the code, so a route cannot answer
 * a code with the wrong status; `details` are extra fields of the error body (limits, paths).
 */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** Response headers the error answers with (e.g. Retry-After on a 503). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) {
    super(errorStatus[code], { message });
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

export function errorBody(
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return { error: { code, message, requestId, ...details } };
}
