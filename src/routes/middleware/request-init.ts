import type { MiddlewareHandler } from "hono";
import { setLogLevel } from "../../lib/log";
import { storesFor } from "../../stores";
import type { AppContext } from "../context";
import { recordRequest } from "./request-record";
import { editResponseHeaders } from "./response-headers";

/**
 * Runs first on every request: names it (Cloudflare's ray id when there is one, so logs and the
 * edge's own records match), puts the stores on the context, so routes never open their own, and
 * records the answered request (its data point and log line).
 */
export const requestInit: MiddlewareHandler<AppContext> = async (c, next) => {
  const startedAt = performance.now();
  setLogLevel(c.env.LOG_LEVEL);
  const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
  c.set("requestId", requestId);
  c.set("stores", storesFor(c.env));
  try {
    await next();
  } finally {
    editResponseHeaders(c, (headers) => headers.set("X-Request-Id", requestId));
    recordRequest(c, startedAt);
  }
};
