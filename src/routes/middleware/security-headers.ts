import { secureHeaders } from "hono/secure-headers";

/**
 * Headers for a JSON API on every response, errors and 404s included: nothing it answers is
 * meant to be rendered, framed, sniffed as another type or given a referrer, and it is only
 * served over HTTPS. Headers only, so WebSocket upgrades and cached pages pass through unchanged.
 */
export const securityHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  xContentTypeOptions: "nosniff",
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
});
