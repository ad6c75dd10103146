import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorBody } from "../../lib/errors";
import type { AppContext } from "../context";

/** Room for 100 events of at most 8 KB of payload each, plus their envelopes. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Refuses a larger body with 413 before any of it is parsed. */
export const bodySizeLimit: MiddlewareHandler<AppContext> = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => {
    const message = "The body is over 1 MB; send fewer events per request";
    return c.json(errorBody("PAYLOAD_TOO_LARGE", message, c.get("requestId")), 413);
  },
});
