import { z } from "@hono/zod-openapi";
import { type ErrorCode, errorStatus } from "../lib/errors";

const ERROR_CODES = Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]];

/** The error body every route documents; spread `errorResponses(...)` into a route's responses. */
const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({ example: "VALIDATION_FAILED" }),
      message: z.string(),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

const descriptions: Record<number, string> = {
  400: "Malformed request or failed validation",
  401: "Missing or wrong credentials (UNAUTHORIZED)",
  403: "The credential may not do this (FORBIDDEN): a missing scope, or a private board",
  404: "Not found",
  409: "Conflict",
  410: "The board is archived (GONE): its records are kept, but it is no longer served",
  413: "Too large",
  415:
    "The body is not JSON: send it with `Content-Type: application/json` " +
    "(UNSUPPORTED_MEDIA_TYPE)",
  426: "Not a WebSocket upgrade (UPGRADE_REQUIRED): open the URL as a WebSocket",
  429: "Rate limited (RATE_LIMITED): retry after Retry-After seconds",
  503:
    "A required dependency is unavailable, " +
    "or (rank reads without Redis) Postgres is at capacity; " +
    "retry after Retry-After or with backoff",
};

export function errorResponses<S extends keyof typeof descriptions>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: descriptions[status] ?? "Error",
        content: { "application/json": { schema: ErrorSchema } },
      },
    ]),
  ) as Record<
    S,
    { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }
  >;
}
