import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { parseCorsOrigins } from "../../domain";
import type { AppContext } from "../context";
import { editResponseHeaders } from "./response-headers";

/**
 * Cross-origin access for browser pages on the origins CORS_ORIGINS lists, and for none when it
 * is empty. A preflight of any /v1 path answers 204; only a listed origin gets
 * Access-Control-Allow-Origin, so the browser refuses the request for every other one.
 */
const browserCors = cors({
  origin: (origin, c) =>
    origin !== "" && parseCorsOrigins(c.env.CORS_ORIGINS).includes(origin) ? origin : null,
  allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: [
    "Content-Type",
    "Authorization",
    "If-None-Match",
    "X-Edgeboard-Timestamp",
    "X-Edgeboard-Signature",
  ],
  exposeHeaders: ["ETag", "Retry-After", "X-Request-Id"],
  // Browsers cap this themselves (Chrome at 2 h); 10 min lets a changed allow-list take effect
  // soon.
  maxAge: 600,
});

/**
 * Requests with an Origin (browsers) go through Hono's CORS middleware. Game clients and servers
 * send none: their answers only need `Vary: Origin` (so a browser's cache never serves one to a
 * cross-origin page), set in place: the middleware makes Hono copy the response twice per request
 * (0.04 ms of CPU per request here, docs/benchmarks.md).
 */
export const corsPolicy: MiddlewareHandler<AppContext> = async (c, next) => {
  if (c.req.header("origin") !== undefined) return browserCors(c, next);
  await next();
  editResponseHeaders(c, (headers) => headers.append("Vary", "Origin"));
};
