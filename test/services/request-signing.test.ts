import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { describe, expect, it } from "vitest";
import {
  pathWithQueryOf,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_MS,
  type SignedRequest,
  signedRequestOf,
  signRequest,
  TIMESTAMP_HEADER,
  verifyRequestSignature,
} from "../../src/services/access/request-signing";
import { issueKey, signingKeyOf } from "../../src/services/access/server-keys";
import type { ReplayStore } from "../../src/stores/objects/replay-guard";
import {
  DurableReplayStore,
  replayShardOf,
  replayStoreFor,
} from "../../src/stores/objects/replay-guard";
import { testEnv } from "../helpers/factories";

/** Remembers ids forever and counts the offers, to see what reached the store. */
/** The real store (the ReplayGuard objects), counting how often it is asked. */
class CountedReplays implements ReplayStore {
  readonly store = new DurableReplayStore(testEnv.REPLAY_GUARD);
  offers = 0;
  firstSeen(id: string, ttlMs: number): Promise<boolean> {
    this.offers += 1;
    return this.store.firstSeen(id, ttlMs);
  }
}

const encoder = new TextEncoder();

/** The documented recipe, written here apart from the module: SHA-256 and HMAC-SHA256 in hex. */
async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return toHex(
    await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data),
  );
}

async function hmacHex(key: Uint8Array, text: string): Promise<string> {
  const imported = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toHex(await crypto.subtle.sign("HMAC", imported, encoder.encode(text)));
}

function toHex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
const BODY = '{"events":[{"type":"score","score":10}]}';

async function newSigningKey(): Promise<string> {
  return (await issueKey()).signingKey;
}

/**
 * A request to POST /v1/events?x=1 signed at `at` with `signingKey`, as the middleware would see
 * it.
 */
async function signed(signingKey: string, at: number, body = BODY): Promise<SignedRequest> {
  const headers = await signRequest(signingKey, "post", "/v1/events?x=1", body, at);
  return {
    method: "POST",
    pathWithQuery: "/v1/events?x=1",
    timestamp: headers[TIMESTAMP_HEADER],
    signature: headers[SIGNATURE_HEADER],
    body: encoder.encode(body),
  };
}

async function reasonOf(
  input: SignedRequest,
  signingKey: string,
  now: number,
  replays: ReplayStore = new CountedReplays(),
) {
  const result = await verifyRequestSignature(input, signingKey, now, replays);
  return result.ok ? "ok" : result.reason;
}

describe("verifyRequestSignature", () => {
  it("accepts a request signed as documented, computed apart from the module", async () => {
    const serverKey = (await issueKey()).key;
    const now = Date.now();
    // The recipe of docs/operations.md, "Signed requests".
    const signingKey = await sha256Hex(`edgeboard-request-signing\0${serverKey}`);
    const bodyHash = await sha256Hex(BODY);
    const mac = await hmacHex(
      encoder.encode(signingKey),
      ["v1", "POST", "/v1/events?x=1", String(now), bodyHash].join("\n"),
    );
    const input = {
      method: "POST",
      pathWithQuery: "/v1/events?x=1",
      timestamp: String(now),
      signature: `v1=${mac}`,
      body: encoder.encode(BODY),
    };
    expect(signingKey).toBe(await signingKeyOf(serverKey));
    expect(await reasonOf(input, signingKey, now)).toBe("ok");
    expect(await signRequest(signingKey, "POST", "/v1/events?x=1", BODY, now)).toEqual({
      "x-edgeboard-timestamp": String(now),
      "x-edgeboard-signature": `v1=${mac}`,
    });
  });

  it("gives the worked example of docs/operations.md, Signed requests", async () => {
    const signingKey = await signingKeyOf(
      "eb_k7m2p9qx_Qm3vX8rT2nL5wJ9cF4hB7dK1sZ6pY0aG8eU2iO5tR3x",
    );
    expect(signingKey).toBe("c016d680078c3de93777ed500b976ceab63a96e0b375c54f7be2da15c7493c02");
    const body = '{"type":"score","playerId":"p1","boardId":"weekly-race","score":420}';
    expect(await sha256Hex(body)).toBe(
      "215cd355fd667253c1bc57af567df925e1ef6ef2ebb7a51352b51d2473da64a9",
    );
    expect(await signRequest(signingKey, "POST", "/v1/events?x=1", body, 1767225600000)).toEqual({
      "x-edgeboard-timestamp": "1767225600000",
      "x-edgeboard-signature":
        "v1=c10d4e4f2bf08f5442e2cfdcf7fbcd249d44d412eb7dfc4d69262939d110ee6d",
    });
  });

  it("accepts a body given as an ArrayBuffer, a Uint8Array view into a larger buffer, or none", async () => {
    const key = await newSigningKey();
    const now = Date.now();
    const padded = encoder.encode(`xx${BODY}yy`);
    // Two requests (a millisecond apart), so the second is no replay of the first.
    const input = await signed(key, now);
    expect(
      await reasonOf({ ...input, body: encoder.encode(BODY).buffer as ArrayBuffer }, key, now),
    ).toBe("ok");
    const another = await signed(key, now + 1);
    expect(
      await reasonOf({ ...another, body: padded.subarray(2, 2 + BODY.length) }, key, now),
    ).toBe("ok");
    const empty = await signRequest(
      key,
      "GET",
      "/v1/leaderboards/b1?limit=10",
      new Uint8Array(0),
      now,
    );
    const get = {
      method: "GET",
      pathWithQuery: "/v1/leaderboards/b1?limit=10",
      body: new ArrayBuffer(0),
    };
    expect(
      await reasonOf(
        { ...get, timestamp: empty[TIMESTAMP_HEADER], signature: empty[SIGNATURE_HEADER] },
        key,
        now,
      ),
    ).toBe("ok");
  });

  it("refuses a changed body, path, query or method, and another key's signature, without touching the store", async () => {
    const key = await newSigningKey();
    const now = Date.now();
    const input = await signed(key, now);
    const replays = new CountedReplays();
    const variants: SignedRequest[] = [
      { ...input, body: encoder.encode(BODY.replace("10", "11")) },
      { ...input, body: new Uint8Array(0) },
      { ...input, pathWithQuery: "/v1/events?x=2" },
      { ...input, pathWithQuery: "/v1/events" },
      { ...input, pathWithQuery: "/v1/Events?x=1" },
      { ...input, method: "PUT" },
      { ...input, timestamp: String(now + 1) },
    ];
    for (const variant of variants) {
      expect(await reasonOf(variant, key, now, replays)).toMatch(
        /^X-Edgeboard-Signature does not match this request/,
      );
    }
    expect(await reasonOf(input, await newSigningKey(), now, replays)).toMatch(/does not match/);
    // HMAC keyed with the 32 bytes the signing key's hex encodes, not its text: a likely client
    // mistake.
    const keyBytes = Uint8Array.from(key.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
    const withBytes = await hmacHex(
      keyBytes,
      ["v1", "POST", "/v1/events?x=1", input.timestamp, await sha256Hex(BODY)].join("\n"),
    );
    expect(await reasonOf({ ...input, signature: `v1=${withBytes}` }, key, now, replays)).toMatch(
      /does not match/,
    );
    expect(replays.offers).toBe(0);
    expect(await reasonOf(input, key, now, replays)).toBe("ok");
    expect(replays.offers).toBe(1);
  });

  it("takes the method in any case, and hex digits in either case as the same signature", async () => {
    const key = await newSigningKey();
    const now = Date.now();
    const input = await signed(key, now);
    const replays = new CountedReplays();
    expect(await reasonOf({ ...input, method: "post" }, key, now, replays)).toBe("ok");
    const upper = `v1=${input.signature?.slice(3).toUpperCase()}`;
    expect(await reasonOf({ ...input, signature: upper }, key, now, replays)).toMatch(
      /already received/,
    );
  });

  it("refuses timestamps more than five minutes from the server clock, saying which way", async () => {
    const key = await newSigningKey();
    const now = Date.now();
    const sixMinutes = 6 * 60_000;
    expect(await reasonOf(await signed(key, now - sixMinutes), key, now)).toMatch(
      /is 360 s behind the server clock .*at most 300 s/,
    );
    expect(await reasonOf(await signed(key, now + sixMinutes), key, now)).toMatch(
      /is 360 s ahead of the server clock/,
    );
    expect(await reasonOf(await signed(key, now - SIGNATURE_WINDOW_MS), key, now)).toBe("ok");
    expect(await reasonOf(await signed(key, now + SIGNATURE_WINDOW_MS), key, now)).toBe("ok");
    expect(await reasonOf(await signed(key, now - SIGNATURE_WINDOW_MS - 1), key, now)).toMatch(
      /behind/,
    );
  });

  it("refuses missing and malformed headers, each with what to send", async () => {
    const key = await newSigningKey();
    const now = Date.now();
    const input = await signed(key, now);
    const hexDigits = input.signature?.slice(3) ?? "";
    const cases: Array<[Partial<SignedRequest>, RegExp]> = [
      [{ timestamp: undefined }, /requires signed requests: send X-Edgeboard-Timestamp/],
      [{ timestamp: "" }, /send X-Edgeboard-Timestamp/],
      [
        { timestamp: new Date(now).toISOString() },
        /X-Edgeboard-Timestamp must be the Unix time of signing in milliseconds/,
      ],
      [
        { timestamp: String(now / 1000) },
        /must be the Unix time of signing in milliseconds, as decimal digits/,
      ],
      [{ timestamp: "-1" }, /as decimal digits/],
      [{ timestamp: "9".repeat(17) }, /as decimal digits/],
      [{ signature: undefined }, /requires signed requests: send X-Edgeboard-Signature: v1=/],
      [
        { signature: hexDigits },
        /X-Edgeboard-Signature must be "v1=" followed by the 64 hex digits/,
      ],
      [{ signature: `v2=${hexDigits}` }, /must be "v1="/],
      [{ signature: `v1=${hexDigits.slice(1)}` }, /must be "v1="/],
      [{ signature: `v1=${hexDigits.slice(1)}g` }, /must be "v1="/],
      [{ signature: `v1=${hexDigits} ` }, /must be "v1="/],
    ];
    for (const [change, reason] of cases)
      expect(await reasonOf({ ...input, ...change }, key, now)).toMatch(reason);
    // A timestamp far in the past that is still well-formed is a clock problem, not a format one.
    expect(await reasonOf({ ...input, timestamp: "0" }, key, now)).toMatch(
      /behind the server clock/,
    );
  });

  it("offers the store a ttl that outlives the timestamp's window on every PoP", async () => {
    const key = await newSigningKey();
    const now = Date.now();
    const ttls: number[] = [];
    const store: ReplayStore = { firstSeen: async (_id, ttlMs) => ttls.push(ttlMs) > 0 };
    await verifyRequestSignature(await signed(key, now - SIGNATURE_WINDOW_MS), key, now, store);
    await verifyRequestSignature(await signed(key, now + SIGNATURE_WINDOW_MS), key, now, store);
    const [oldest, newest] = ttls;
    expect(oldest).toBeGreaterThan(0);
    expect(newest).toBe((oldest ?? 0) + 2 * SIGNATURE_WINDOW_MS);
  });
});

describe("replay stores", () => {
  async function offerTwice(store: ReplayStore) {
    const key = await newSigningKey();
    const now = Date.now();
    const input = await signed(key, now);
    const first = await reasonOf(input, key, now, store);
    const again = await reasonOf(input, key, now + 1_000, store);
    return { first, again, id: input.signature?.slice(3) ?? "" };
  }

  it("the Durable Object store refuses the same signed request the second time, from any isolate", async () => {
    const { first, again, id } = await offerTwice(new DurableReplayStore(testEnv.REPLAY_GUARD));
    expect(first).toBe("ok");
    expect(again).toBe(
      "This signed request was already received: sign every request, a retry included, again with a new timestamp",
    );
    // A second isolate builds its own store object; the shard is the same Durable Object.
    expect(await new DurableReplayStore(testEnv.REPLAY_GUARD).firstSeen(id, 60_000)).toBe(false);
  });

  it("spreads signatures over 256 shards by their first two hex digits", () => {
    expect(replayShardOf("0af3".padEnd(64, "0"))).toBe("0a");
    expect(
      new Set(
        Array.from({ length: 256 }, (_, i) =>
          replayShardOf(i.toString(16).padStart(2, "0").padEnd(64, "f")),
        ),
      ).size,
    ).toBe(256);
  });

  it("is the Durable Object store, with or without Upstash", () => {
    expect(replayStoreFor(testEnv)).toBeInstanceOf(DurableReplayStore);
    expect(
      replayStoreFor({
        ...testEnv,
        UPSTASH_REDIS_REST_URL: undefined,
        UPSTASH_REDIS_REST_TOKEN: undefined,
      }),
    ).toBeInstanceOf(DurableReplayStore);
  });
});

describe("reading the body in a middleware (what the auth middleware relies on)", () => {
  const route = createRoute({
    method: "post",
    path: "/v1/things",
    request: {
      body: {
        required: true,
        content: { "application/json": { schema: z.object({ score: z.number() }) } },
      },
    },
    responses: { 200: { description: "ok" } },
  });

  /**
   * bodyLimit, then a middleware hashing the raw body, then a validated route and a hand-parsed
   * one, as in src/app.ts.
   */
  function appWith(signingKey: string, replays: ReplayStore) {
    const app = new OpenAPIHono();
    app.use("/v1/*", bodyLimit({ maxSize: 1024 }));
    app.use("/v1/*", async (c, next) => {
      const check = await verifyRequestSignature(
        await signedRequestOf(c.req),
        signingKey,
        Date.now(),
        replays,
      );
      if (!check.ok) return c.json({ reason: check.reason }, 401);
      await next();
    });
    app.openapi(route, (c) => c.json({ validated: c.req.valid("json") }, 200));
    app.post("/v1/raw", async (c) =>
      c.json({ parsed: await c.req.json(), text: await c.req.text() }),
    );
    return app;
  }

  it("c.req.json() and the route's zod validator still read the body after c.req.arrayBuffer()", async () => {
    const key = await newSigningKey();
    const app = appWith(key, new CountedReplays());
    const body = '{"score":7}';
    const send = async (path: string, stream: boolean) => {
      const headers = await signRequest(key, "POST", path, body, Date.now());
      // A stream has no content-length: bodyLimit then reads it and replaces c.req.raw.
      const payload = stream ? new Blob([body]).stream() : body;
      const res = await app.request(path, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: payload,
      });
      return { status: res.status, body: await res.json() };
    };
    expect(await send("/v1/things?a=1", false)).toEqual({
      status: 200,
      body: { validated: { score: 7 } },
    });
    expect(await send("/v1/things", true)).toEqual({
      status: 200,
      body: { validated: { score: 7 } },
    });
    expect(await send("/v1/raw?", false)).toEqual({
      status: 200,
      body: { parsed: { score: 7 }, text: body },
    });
    expect(await send("/v1/raw", true)).toEqual({
      status: 200,
      body: { parsed: { score: 7 }, text: body },
    });
  });

  it("pathWithQueryOf keeps the query as sent, a bare '?' included, and drops a fragment", () => {
    expect(pathWithQueryOf("http://edge.test/v1/events?x=1&y=%20")).toBe("/v1/events?x=1&y=%20");
    expect(pathWithQueryOf("https://edge.test:8443/v1/events?")).toBe("/v1/events?");
    expect(pathWithQueryOf(new Request("http://edge.test/v1/events?").url)).toBe("/v1/events?");
    expect(pathWithQueryOf("http://edge.test/v1/a#frag")).toBe("/v1/a");
    expect(pathWithQueryOf("http://edge.test")).toBe("/");
  });
});
