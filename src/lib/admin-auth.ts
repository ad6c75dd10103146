import type { MiddlewareHandler } from "hono";
import type { AppContext } from "../env";
import { ApiError } from "./errors";

const encoder = new TextEncoder();

/** Compares secrets in constant time so response timing does not leak the key. */
function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * The one gate in front of /v1/admin/*: `Authorization: Bearer <ADMIN_KEY>`. The security issue
 * extends auth (API keys, player tokens, signing); admin routes only ever see this middleware.
 */
export const requireAdmin: MiddlewareHandler<AppContext> = async (c, next) => {
  const expected = c.env.ADMIN_KEY;
  if (!expected) {
    throw new ApiError(
      "FORBIDDEN",
      "Admin routes are disabled: ADMIN_KEY is not configured (wrangler secret put ADMIN_KEY, or .dev.vars locally)",
    );
  }
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match?.[1] || !sameSecret(match[1].trim(), expected)) {
    throw new ApiError("UNAUTHORIZED", "Admin routes need `Authorization: Bearer <ADMIN_KEY>`");
  }
  await next();
};
