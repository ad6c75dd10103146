import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../lib/errors";
import type { AppContext } from "../context";

/** `application/json`, alone or with `charset=utf-8`: the only body this API reads. */
const JSON_MEDIA_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Refuses a body that is not JSON with 415. Browsers send text/plain, form-encoded and multipart
 * bodies cross-origin without a CORS preflight, so accepting them would let any web page make a
 * visitor's browser post to this API; a JSON content type always needs the preflight.
 */
export const jsonOnly: MiddlewareHandler<AppContext> = async (c, next) => {
  if (BODY_METHODS.has(c.req.method)) {
    const type = c.req.header("content-type");
    const hasBody = c.req.raw.body !== null && c.req.header("content-length") !== "0";
    if (type === undefined ? hasBody : !JSON_MEDIA_TYPE.test(type.trim())) {
      const got = type === undefined ? "no Content-Type" : `"${type.slice(0, 100)}"`;
      throw new ApiError(
        "UNSUPPORTED_MEDIA_TYPE",
        `Send the body as JSON with \`Content-Type: application/json\` (got ${got})`,
      );
    }
  }
  await next();
};
