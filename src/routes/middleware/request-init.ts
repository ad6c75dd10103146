import type { MiddlewareHandler } from "hono";
import { storesFor } from "../../stores";
import type { AppContext } from "../context";

/**
 * Runs first on every request: names it (Cloudflare's ray id when there is one, so logs and the
 * edge's own records match) and puts the stores on the context, so routes never open their own.
 */
export const requestInit: MiddlewareHandler<AppContext> = async (c, next) => {
  const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
  c.set("requestId", requestId);
  c.set("stores", storesFor(c.env));
  try {
    await next();
  } finally {
    c.header("X-Request-Id", requestId);
  }
};
