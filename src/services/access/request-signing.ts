import type { ReplayStore } from "../../stores/objects/replay-guard";

/**
 * HMAC request signing for server keys whose `requireSignature` is set: a leaked request can then
 * not be altered, nor replayed after a few minutes or twice within them.
 *
 * A signed request carries two headers:
 *   X-Edgeboard-Timestamp: the Unix time of signing in milliseconds, as decimal digits
 *   X-Edgeboard-Signature: `v1=` and the lowercase hex HMAC-SHA256 of the signed string
 *
 * The signed string is five lines joined by "\n" (no trailing newline):
 *   v1
 *   <the method in upper case>
 *   <the path with its query exactly as sent, e.g. /v1/events?x=1>
 *   <the X-Edgeboard-Timestamp value>
 *   <the hex SHA-256 of the raw body bytes; of the empty string when there is no body>
 *
 * The HMAC key is the key's signing key as text: the UTF-8 bytes of the 64-character lowercase hex
 * string sha256hex("edgeboard-request-signing" + "\0" + serverKey) (see signingKeyOf), not the 32
 * bytes that hex encodes. docs/operations.md ("Signed requests") has a worked example.
 *
 * A timestamp more than SIGNATURE_WINDOW_MS from the server clock is refused, and a signature is
 * accepted once: a retry must be signed again with a new timestamp.
 */
export const SIGNATURE_WINDOW_MS = 300_000;
export const TIMESTAMP_HEADER = "x-edgeboard-timestamp";
export const SIGNATURE_HEADER = "x-edgeboard-signature";

/**
 * Extra time a seen signature is remembered past its timestamp's window: another PoP whose clock
 * runs behind this one's still accepts the timestamp a little longer, and must still see it.
 */
const CLOCK_MARGIN_MS = 60_000;
const TIMESTAMP_PATTERN = /^\d{1,16}$/;
/**
 * Upper-case hex is accepted (some platforms print it) and lowered, so one signature has one replay
 * id.
 */
const SIGNATURE_PATTERN = /^v1=([0-9a-fA-F]{64})$/;
const DOCS = "see docs/operations.md, Signed requests";

export type SignedRequest = {
  method: string;
  /**
   * The request target after the host, as sent: path and query, no fragment (see pathWithQueryOf).
   */
  pathWithQuery: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: ArrayBuffer | Uint8Array;
};

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * What a signature covers, read from a request (its body read whole; Hono keeps it for later
 * readers).
 */
export async function signedRequestOf(req: {
  method: string;
  url: string;
  header(name: string): string | undefined;
  arrayBuffer(): Promise<ArrayBuffer>;
}): Promise<SignedRequest> {
  return {
    method: req.method,
    pathWithQuery: pathWithQueryOf(req.url),
    timestamp: req.header(TIMESTAMP_HEADER),
    signature: req.header(SIGNATURE_HEADER),
    body: await req.arrayBuffer(),
  };
}

/**
 * Whether `input` is signed with `signingKey`, recent, and not seen before. The replay store is
 * asked only after the signature verified, so unsigned junk cannot fill it. A store that cannot
 * answer throws: the caller answers 503, never lets the request through.
 */
export async function verifyRequestSignature(
  input: SignedRequest,
  signingKey: string,
  now: number,
  replays: ReplayStore,
): Promise<SignatureCheck> {
  const { timestamp, signature } = input;
  if (timestamp === undefined || timestamp === "") {
    return refuse(
      "This key requires signed requests: " +
        `send X-Edgeboard-Timestamp, the Unix time of signing in milliseconds (${DOCS})`,
    );
  }
  if (!TIMESTAMP_PATTERN.test(timestamp)) {
    return refuse(
      "X-Edgeboard-Timestamp must be the Unix time of signing in milliseconds, " +
        `as decimal digits (e.g. ${now})`,
    );
  }
  if (signature === undefined || signature === "") {
    return refuse(
      "This key requires signed requests: " +
        `send X-Edgeboard-Signature: v1=<hex HMAC-SHA256 of the signed string> (${DOCS})`,
    );
  }
  const given = SIGNATURE_PATTERN.exec(signature)?.[1]?.toLowerCase();
  if (given === undefined) {
    return refuse(
      'X-Edgeboard-Signature must be "v1=" ' +
        `followed by the 64 hex digits of an HMAC-SHA256 (${DOCS})`,
    );
  }
  const signedAt = Number(timestamp);
  const skew = signedAt - now;
  if (Math.abs(skew) > SIGNATURE_WINDOW_MS) {
    const seconds = Math.round(Math.abs(skew) / 1000);
    const side = skew < 0 ? "behind" : "ahead of";
    return refuse(
      `X-Edgeboard-Timestamp is ${seconds} s ${side} the server clock (${now}); ` +
        `at most ${SIGNATURE_WINDOW_MS / 1000} s are accepted: ` +
        "sign each request when sending it and check the client's clock",
    );
  }
  const expected = await hmac(
    signingKey,
    await signedString(input.method, input.pathWithQuery, timestamp, input.body),
  );
  if (!crypto.subtle.timingSafeEqual(expected, hexBytes(given))) {
    return refuse(
      "X-Edgeboard-Signature does not match this request: " +
        'sign "v1", the method, the path with its query as sent, the timestamp ' +
        "and the body's hex SHA-256, one per line, " +
        `with this key's signing key (${DOCS})`,
    );
  }
  if (
    !(await replays.firstSeen(
      given,
      Math.ceil(signedAt + SIGNATURE_WINDOW_MS - now + CLOCK_MARGIN_MS),
    ))
  ) {
    return refuse(
      "This signed request was already received: " +
        "sign every request, a retry included, again with a new timestamp",
    );
  }
  return { ok: true };
}

/** The two headers of a request signed with `signingKey` at `timestamp` (for clients and tests). */
export async function signRequest(
  signingKey: string,
  method: string,
  pathWithQuery: string,
  body: ArrayBuffer | Uint8Array | string,
  timestamp: number,
): Promise<{ "x-edgeboard-timestamp": string; "x-edgeboard-signature": string }> {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const stamp = String(timestamp);
  const mac = await hmac(signingKey, await signedString(method, pathWithQuery, stamp, bytes));
  return { [TIMESTAMP_HEADER]: stamp, [SIGNATURE_HEADER]: `v1=${hex(mac)}` };
}

/**
 * The path and query of a request URL as the client sent them ("/v1/events?x=1"). Taken from the
 * URL text rather than URL.search, which drops a bare trailing "?" the client may have signed.
 */
export function pathWithQueryOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const hash = url.indexOf("#", start);
  return hash < 0 ? url.slice(start) : url.slice(start, hash);
}

const encoder = new TextEncoder();

async function signedString(
  method: string,
  pathWithQuery: string,
  timestamp: string,
  body: ArrayBuffer | Uint8Array,
): Promise<string> {
  const bodyHash = hex(await crypto.subtle.digest("SHA-256", body));
  return ["v1", method.toUpperCase(), pathWithQuery, timestamp, bodyHash].join("\n");
}

async function hmac(signingKey: string, text: string): Promise<ArrayBuffer> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(signingKey),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", key, encoder.encode(text));
}

function refuse(reason: string): SignatureCheck {
  return { ok: false, reason };
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of an even-length hex string already checked by SIGNATURE_PATTERN. */
function hexBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i += 1)
    bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
