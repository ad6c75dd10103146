import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { ADMIN, api, createBoard, eventId, query, testEnv, uniqueId } from "../helpers/factories";
import { bearer, createKey, unknownKey } from "./credentials";

/**
 * The admin key: only ADMIN_KEY itself opens the admin routes. A guess of the right length is no
 * better than any other, a refused POST writes nothing, and without ADMIN_KEY configured no
 * credential is the admin key (src/services/access/authenticate.ts).
 */

const ADMIN_KEY = testEnv.ADMIN_KEY as string;

/** What authenticate answers for a credential that is neither a key, a token nor the admin key. */
const NOT_A_CREDENTIAL = "This credential is not a server key, a player token or the admin key";
const UNKNOWN_KEY = "This server key is unknown or revoked; create one with POST /v1/admin/keys";
/** What admit answers a caller without a credential, per route access. */
const NEEDS_ADMIN_KEY =
  "This route needs the admin key (ADMIN_KEY): send Authorization: Bearer <credential>";
const NEEDS_BOARDS_ADMIN =
  "This route needs a server key with boards:admin, or the admin key: " +
  "send Authorization: Bearer <credential>";

/** Wrong keys of exactly ADMIN_KEY's length: its last character changed, and another text. */
function sameLengthGuesses(): string[] {
  const last = ADMIN_KEY.at(-1) === "x" ? "y" : "x";
  const guesses = [`${ADMIN_KEY.slice(0, -1)}${last}`, "z".repeat(ADMIN_KEY.length)];
  for (const guess of guesses) {
    expect(guess).toHaveLength(ADMIN_KEY.length);
    expect(guess).not.toBe(ADMIN_KEY);
  }
  return guesses;
}

type ErrorBody = { error?: { code?: string; message?: string; requestId?: string } };

/** An answer in the terms the tests compare: status, error code and message, a request id. */
async function refusal(res: Response) {
  const text = await res.text();
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    // Not JSON: the status and the missing code say enough.
  }
  return {
    status: res.status,
    code: body.error?.code,
    message: body.error?.message,
    requestId: Boolean(body.error?.requestId),
  };
}

const app = createApp();

/** A request to the app with other bindings (the test worker's with one changed). */
async function callWith(env: AppBindings, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const json = (credential: string | undefined): Record<string, string> => ({
  ...(credential === undefined ? {} : bearer(credential)),
  "content-type": "application/json",
});

describe("a wrong admin key of the right length", () => {
  it("is refused with 401 UNAUTHORIZED on admin GET routes", async () => {
    for (const guess of sameLengthGuesses()) {
      for (const path of ["/v1/admin/keys", "/v1/admin/dlq", "/v1/admin/metrics"]) {
        const res = await api(path, { headers: bearer(guess) });
        expect([path, guess, await refusal(res)]).toEqual([
          path,
          guess,
          { status: 401, code: "UNAUTHORIZED", message: NOT_A_CREDENTIAL, requestId: true },
        ]);
      }
    }
    // The right key on the same routes, for contrast.
    const keys = await api("/v1/admin/keys", { headers: ADMIN });
    expect(keys.status).toBe(200);
    expect(await keys.json()).toHaveProperty("keys");
  });

  it("is refused with 401 UNAUTHORIZED on POST /v1/admin/boards, and creates no board", async () => {
    for (const guess of sameLengthGuesses()) {
      const id = uniqueId("guess");
      const res = await api("/v1/admin/boards", {
        method: "POST",
        headers: json(guess),
        body: JSON.stringify({ id, name: "Guessed" }),
      });
      expect(await refusal(res)).toEqual({
        status: 401,
        code: "UNAUTHORIZED",
        message: NOT_A_CREDENTIAL,
        requestId: true,
      });
      expect(await query(sql`select id from boards where id = ${id}`)).toEqual([]);
    }
  });
});

describe("admin POST routes without the admin key", () => {
  /** Credentials that are not ADMIN_KEY, and what each is told. */
  const refusedWith = async (needs: string) =>
    [
      [undefined, needs],
      [sameLengthGuesses()[0], NOT_A_CREDENTIAL],
      [`${ADMIN_KEY}x`, NOT_A_CREDENTIAL],
      [await unknownKey(), UNKNOWN_KEY],
    ] as const;

  it("POST /v1/admin/boards answers 401 and writes no board", async () => {
    for (const [credential, message] of await refusedWith(NEEDS_BOARDS_ADMIN)) {
      const id = uniqueId("refused-board");
      const res = await api("/v1/admin/boards", {
        method: "POST",
        headers: json(credential),
        body: JSON.stringify({ id, name: "Refused", operator: "increment" }),
      });
      expect([credential, await refusal(res)]).toEqual([
        credential,
        { status: 401, code: "UNAUTHORIZED", message, requestId: true },
      ]);
      expect(await query(sql`select id from boards where id = ${id}`)).toEqual([]);
      const read = await api(`/v1/boards/${id}`);
      expect(await refusal(read)).toMatchObject({ status: 404, code: "NOT_FOUND" });
    }
  });

  it("POST /v1/admin/keys answers 401 and issues no key", async () => {
    for (const [credential, message] of await refusedWith(NEEDS_ADMIN_KEY)) {
      const name = uniqueId("refused-key");
      const res = await api("/v1/admin/keys", {
        method: "POST",
        headers: json(credential),
        body: JSON.stringify({ name, scopes: ["boards:admin"] }),
      });
      expect([credential, await refusal(res)]).toEqual([
        credential,
        { status: 401, code: "UNAUTHORIZED", message, requestId: true },
      ]);
      expect(await query(sql`select id from api_keys where name = ${name}`)).toEqual([]);
    }
  });

  it("POST /v1/admin/dlq/replay answers 401 and replays nothing", async () => {
    const board = await createBoard({ operator: "increment" });
    const body = {
      kind: "event",
      id: eventId(),
      type: "score",
      playerId: "revived",
      occurredAt: Date.now() - 1_000,
      receivedAt: Date.now(),
      boardId: board,
      score: 5,
    };
    const [letter] = await query<{ id: string }>(
      sql`insert into dead_letters (queue, message_id, body, error, attempts)
          values ('edgeboard-score-events', ${uniqueId("lost")}, ${JSON.stringify(body)}::jsonb,
                  'retries exhausted: test', 12)
          returning id::text`,
    );
    const id = Number(letter?.id);
    const pending = async () =>
      query<{ replayed: boolean }>(
        sql`select replayed_at is not null as replayed from dead_letters where id = ${id}`,
      );
    for (const [credential, message] of await refusedWith(NEEDS_BOARDS_ADMIN)) {
      const res = await api("/v1/admin/dlq/replay", {
        method: "POST",
        headers: json(credential),
        body: JSON.stringify({ ids: [id] }),
      });
      expect([credential, await refusal(res)]).toEqual([
        credential,
        { status: 401, code: "UNAUTHORIZED", message, requestId: true },
      ]);
      expect(await pending()).toEqual([{ replayed: false }]);
    }
    // The letter was replayable all along: the admin key replays it.
    const replay = await api("/v1/admin/dlq/replay", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ ids: [id] }),
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ replayed: 1, skipped: [] });
    expect(await pending()).toEqual([{ replayed: true }]);
  });
});

describe("without ADMIN_KEY configured", () => {
  // authenticate tries the admin key only when one is set: every admin route then answers 401
  // UNAUTHORIZED, to the former key as to any text, and to no credential.
  const unset: Array<[string, AppBindings]> = [
    ["unset", { ...testEnv, ADMIN_KEY: undefined } as unknown as AppBindings],
    ["empty", { ...testEnv, ADMIN_KEY: "" }],
  ];

  it.each(unset)(
    "(%s) admin routes answer 401 UNAUTHORIZED to the former key, to other text and to no credential, and write nothing",
    async (_how, env) => {
      const id = uniqueId("keyless");
      const name = uniqueId("keyless-key");
      const requests: Array<[string, RequestInit, string]> = [
        ["/v1/admin/keys", {}, NEEDS_ADMIN_KEY],
        ["/v1/admin/metrics", {}, NEEDS_BOARDS_ADMIN],
        [
          "/v1/admin/boards",
          { method: "POST", body: JSON.stringify({ id, name: "Keyless" }) },
          NEEDS_BOARDS_ADMIN,
        ],
        [
          "/v1/admin/keys",
          { method: "POST", body: JSON.stringify({ name, scopes: ["read"] }) },
          NEEDS_ADMIN_KEY,
        ],
      ];
      for (const [path, init, needs] of requests) {
        for (const credential of [ADMIN_KEY, "", sameLengthGuesses()[1] as string]) {
          const res = await callWith(env, path, {
            ...init,
            headers: json(credential === "" ? undefined : credential),
          });
          expect([path, credential, await refusal(res)]).toEqual([
            path,
            credential,
            {
              status: 401,
              code: "UNAUTHORIZED",
              message: credential === "" ? needs : NOT_A_CREDENTIAL,
              requestId: true,
            },
          ]);
        }
      }
      expect(await query(sql`select id from boards where id = ${id}`)).toEqual([]);
      expect(await query(sql`select id from api_keys where name = ${name}`)).toEqual([]);
      // The same request with the key configured is admitted, and server keys keep working without.
      const admitted = await callWith(testEnv, "/v1/admin/metrics", { headers: ADMIN });
      expect(admitted.status).toBe(200);
      const operator = await createKey(["boards:admin"], "keyless operator");
      const byKey = await callWith(env, "/v1/admin/metrics", { headers: bearer(operator.key) });
      expect(byKey.status).toBe(200);
      expect(await byKey.json()).toHaveProperty("rejectedIncrementTooLarge");
    },
  );
});
