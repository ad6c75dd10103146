import type { OpenAPIHonoOptions } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { DEPENDENCY_RETRY_AFTER_SECONDS, failedDependency } from "../lib/dependency-errors";
import { ApiError, codeOfStatus, errorBody } from "../lib/errors";
import { describeError, log } from "../lib/log";
import { isSchemaMissing, MIGRATE_HINT } from "../stores/postgres/errors";
import type { AppContext } from "./context";

type ValidationHook = NonNullable<OpenAPIHonoOptions<AppContext>["defaultHook"]>;

/** zod failures become 400 with the path of each bad field. */
export const validationFailed: ValidationHook = (result, c) => {
  if (result.success) return;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.join("."),
    message: issue.message,
  }));
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
  return c.json(errorBody("VALIDATION_FAILED", summary, c.get("requestId"), { issues }), 400);
};

/**
 * Turns every failure into the `{error: {code, message, requestId}}` shape. ApiError and Hono's
 * HTTPException carry their own message; anything else is logged and answered in general words,
 * so SQL, driver text and stacks never reach the caller.
 */
export const errorResponse: ErrorHandler<AppContext> = (error, c) => {
  const requestId = c.get("requestId") ?? "unknown";
  if (error instanceof ApiError) {
    const body = errorBody(error.code, error.message, requestId, error.details);
    return c.json(body, error.status, error.headers);
  }
  if (error instanceof HTTPException) {
    // Hono's own (a malformed JSON body, a media type the route does not take): its status's code.
    const fallback = error.status < 500 ? "BAD_REQUEST" : "INTERNAL_ERROR";
    const code = codeOfStatus(error.status) ?? fallback;
    return c.json(errorBody(code, error.message || "Bad request", requestId), error.status);
  }
  if (isSchemaMissing(error)) {
    // A deployment step missed, not a bug of the request: say what fixes it, to caller and log.
    const details = { requestId, path: c.req.path, error: describeError(error) };
    log.error(`request failed: ${MIGRATE_HINT}`, details);
    const message = `Database not ready (${MIGRATE_HINT}); retry once it is migrated`;
    return c.json(errorBody("DEPENDENCY_UNAVAILABLE", message, requestId), 503);
  }
  const dependency = failedDependency(error);
  if (dependency) return dependencyUnavailable(c, dependency, error);
  const stack = (error as Error)?.stack;
  log.error("unhandled error", { requestId, path: c.req.path, error: describeError(error), stack });
  const message = "Internal error; retry later, and report the requestId if it persists";
  return c.json(errorBody("INTERNAL_ERROR", message, requestId), 500);
};

/** A store that could not answer: 503 with Retry-After, as the caller may simply try again. */
function dependencyUnavailable(c: Context<AppContext>, dependency: string, error: unknown) {
  const requestId = c.get("requestId") ?? "unknown";
  const details = { requestId, path: c.req.path, dependency, error: describeError(error) };
  log.warn("request failed: a dependency is unavailable", details);
  const message =
    `${dependency} could not answer; retry in ${DEPENDENCY_RETRY_AFTER_SECONDS} s ` +
    "(events are idempotent by id, so retrying a POST never double-counts)";
  const body = errorBody("DEPENDENCY_UNAVAILABLE", message, requestId, {
    retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS,
  });
  return c.json(body, 503, { "retry-after": String(DEPENDENCY_RETRY_AFTER_SECONDS) });
}

/** No route matched: 404 in the error shape, pointing at the API's description. */
export const noRoute: NotFoundHandler<AppContext> = (c) => {
  const message = `No route for ${c.req.method} ${c.req.path}; see /openapi.json`;
  return c.json(errorBody("NOT_FOUND", message, c.get("requestId") ?? "unknown"), 404);
};
