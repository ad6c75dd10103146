import { cors } from "hono/cors";
import { parseCorsOrigins } from "../../domain";

/**
 * Cross-origin access for browser pages on the origins CORS_ORIGINS lists, and for none when it
 * is empty. A preflight of any /v1 path answers 204; only a listed origin gets
 * Access-Control-Allow-Origin, so the browser refuses the request for every other one.
 */
export const corsPolicy = cors({
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
