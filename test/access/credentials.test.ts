import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { importJWK, SignJWT } from "jose";
import { describe, expect, inject, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { signRequest } from "../../src/services/access/request-signing";
import { KEY_CACHE_MS, signingKeyOf, verifyServerKey } from "../../src/services/access/server-keys";
import { openDatabase } from "../../src/stores/postgres/client";
import {
  ADMIN,
  api,
  createBoard,
  eventId,
  eventually,
  query,
  scoreRows,
  testEnv,
} from "../helpers/factories";
import { bearer, createKey, playerToken, revokeKey } from "./credentials";

const app = createApp();

async function call(path: string, init: RequestInit, env: AppBindings = testEnv) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const scoreEvent = (boardId: string, playerId: string, score: number) => ({
  id: eventId(),
  type: "score",
  playerId,
  boardId,
  score,
  occurredAt: new Date().toISOString(),
});

async function send(credential: string, events: unknown[], extra: Record<string, string> = {}) {
  const res = await api("/v1/events", {
    method: "POST",
    headers: { ...bearer(credential), "content-type": "application/json", ...extra },
    body: JSON.stringify({ events }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      accepted: number;
      rejected: Array<{ index: number; error: { code: string } }>;
    },
  };
}

describe("server keys", () => {
  it("are shown once, listed without their secret, work at once, and stop at once where revoked", async () => {
    const created = await createKey(["events:write"], "game server");
    expect(created.key).toMatch(/^eb_[a-z2-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(created.key.startsWith(`${created.prefix}_`)).toBe(true);
    const stored = await query<{ hash: string; signing_key: string }>(
      sql`select hash, signing_key from api_keys where id = ${created.id}`,
    );
    expect(JSON.stringify(stored)).not.toContain(created.key);
    const listed = await (await api("/v1/admin/keys", { headers: ADMIN })).json();
    const mine = (listed as { keys: Array<Record<string, unknown>> }).keys.find(
      (k) => k.id === created.id,
    );
    expect(mine).toMatchObject({
      prefix: created.prefix,
      name: "game server",
      scopes: ["events:write"],
      revokedAt: null,
    });
    expect(mine).not.toHaveProperty("key");
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const board = await createBoard();
    expect((await send(created.key, [scoreEvent(board, "k1", 3)])).body.accepted).toBe(1);
    await revokeKey(created.id);
    expect((await send(created.key, [scoreEvent(board, "k1", 4)])).status).toBe(401);
  });

  it("revoked elsewhere, stop working in this isolate within the key cache's lifetime", async () => {
    const created = await createKey(["read"]);
    const db = () => openDatabase(testEnv, { maxConnections: 1 }).db;
    const now = Date.now();
    expect(await verifyServerKey(db, created.key, now)).not.toBeNull();
    // Another isolate revokes it: this one's copy holds until it expires.
    await query(sql`update api_keys set revoked_at = now() where id = ${created.id}`);
    expect(await verifyServerKey(db, created.key, now + 1_000)).not.toBeNull();
    expect(await verifyServerKey(db, created.key, now + KEY_CACHE_MS + 1)).toBeNull();
    expect(KEY_CACHE_MS).toBeLessThanOrEqual(60_000);
  });

  it("known to this isolate, keep working for a while when Postgres cannot be asked; unknown ones get an error (503)", async () => {
    const created = await createKey(["events:write"]);
    const db = () => openDatabase(testEnv, { maxConnections: 1 }).db;
    const down = () =>
      openDatabase(
        { ...testEnv, DATABASE_URL: "postgres://nobody@127.0.0.1:1/missing" },
        { maxConnections: 1 },
      ).db;
    const now = Date.now();
    expect(await verifyServerKey(db, created.key, now)).not.toBeNull();
    expect((await verifyServerKey(down, created.key, now + KEY_CACHE_MS + 1))?.id).toBe(created.id);
    const stranger = await createKey(["events:write"]);
    await expect(verifyServerKey(down, stranger.key, now)).rejects.toThrow();
  });

  it("refuse a right prefix with a wrong secret, and an unknown key, with 401", async () => {
    const created = await createKey(["events:write"]);
    const forged = `${created.prefix}_${"A".repeat(43)}`;
    const board = await createBoard();
    expect((await send(forged, [scoreEvent(board, "k2", 1)])).status).toBe(401);
    expect((await send(`eb_zzzzzzzz_${"B".repeat(43)}`, [scoreEvent(board, "k2", 1)])).status).toBe(
      401,
    );
  });
});

describe("player tokens", () => {
  it("are minted by a key with tokens:mint, for an hour by default, and write their own player's scores only", async () => {
    const minter = await createKey(["tokens:mint"]);
    const res = await api("/v1/players/tok-1/tokens", {
      method: "POST",
      headers: { ...bearer(minter.key), "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(201);
    const { token, expiresAt } = (await res.json()) as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(3_590_000);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(3_600_000);

    const board = await createBoard();
    const result = await send(token, [
      scoreEvent(board, "tok-1", 10),
      scoreEvent(board, "tok-2", 99),
    ]);
    expect(result.status).toBe(202);
    expect(result.body.accepted).toBe(1);
    expect(result.body.rejected).toEqual([
      { index: 1, error: { code: "FORBIDDEN", message: expect.stringContaining("tok-2") } },
    ]);
    await eventually(async () => ((await scoreRows(board)).length === 1 ? true : undefined));
    expect((await scoreRows(board)).map((r) => r.player_id)).toEqual(["tok-1"]);
  });

  it("verified once are remembered by this isolate until they expire, and refused after", async () => {
    const { verifyPlayerToken } = await import("../../src/services/access/player-tokens");
    const token = await playerToken("remembered-1", 60);
    const now = Date.now();
    expect(await verifyPlayerToken(testEnv, token, now)).toBe("remembered-1");
    expect(await verifyPlayerToken(testEnv, token, now + 30_000)).toBe("remembered-1");
    await expect(verifyPlayerToken(testEnv, token, now + 61_000)).rejects.toThrow(/expired/);
  });

  it("take a lifetime, and the mint answers 503 saying what to set when no secret is configured", async () => {
    const minter = await createKey(["tokens:mint"]);
    const init = {
      method: "POST",
      headers: { ...bearer(minter.key), "content-type": "application/json" },
      body: '{"ttlSeconds":120}',
    };
    const res = await call("/v1/players/tok-3/tokens", init);
    expect(
      Date.parse(((await res.json()) as { expiresAt: string }).expiresAt) - Date.now(),
    ).toBeLessThanOrEqual(120_000);
    const without = await call("/v1/players/tok-3/tokens", init, {
      ...testEnv,
      PLAYER_TOKEN_SECRET: undefined,
    });
    expect(without.status).toBe(503);
    expect(await without.text()).toContain("PLAYER_TOKEN_SECRET");
  });

  it("from the studio's identity provider: HS256 with its secret, issuer and audience, and the player in a claim of its choosing", async () => {
    const env = {
      ...testEnv,
      IDP_JWT_SECRET: "studio-idp-secret-0123456789",
      IDP_ISSUER: "https://id.studio.example",
      IDP_AUDIENCE: "game",
      IDP_PLAYER_CLAIM: "uid",
    };
    const secret = new TextEncoder().encode(env.IDP_JWT_SECRET);
    const sign = (claims: Record<string, unknown>, issuer = env.IDP_ISSUER, audience = "game") =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(issuer)
        .setAudience(audience)
        .setExpirationTime("10m")
        .sign(secret);
    const board = await createBoard();
    const post = async (token: string) =>
      call(
        "/v1/events",
        {
          method: "POST",
          headers: { ...bearer(token), "content-type": "application/json" },
          body: JSON.stringify(scoreEvent(board, "idp-7", 5)),
        },
        env,
      );
    expect((await post(await sign({ uid: "idp-7" }))).status).toBe(202);
    expect((await post(await sign({ uid: "idp-7" }, "https://evil.example"))).status).toBe(401);
    expect((await post(await sign({ sub: "idp-7" }))).status).toBe(401);
    // A token the same provider issued for another of the studio's games.
    const elsewhere = await post(await sign({ uid: "idp-7" }, env.IDP_ISSUER, "other-game"));
    expect(elsewhere.status).toBe(401);
    expect(await elsewhere.json()).toMatchObject({
      error: {
        code: "UNAUTHORIZED",
        message:
          "Player token refused: the token is not valid here (ERR_JWT_CLAIM_VALIDATION_FAILED)",
      },
    });
  });

  it("from the studio's identity provider: ES256 against its JWKS, fetched and cached", async () => {
    const env = {
      ...testEnv,
      IDP_JWKS_URL: inject("idpJwksUrl"),
      IDP_ISSUER: "https://id.studio.example",
      IDP_AUDIENCE: "",
    };
    const jwk = JSON.parse(inject("idpPrivateJwk")) as { kid: string };
    const key = await importJWK(jwk, "ES256");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: jwk.kid })
      .setSubject("jwks-1")
      .setIssuer(env.IDP_ISSUER)
      .setExpirationTime("5m")
      .sign(key);
    const board = await createBoard();
    const post = (credential: string, playerId: string) =>
      call(
        "/v1/events",
        {
          method: "POST",
          headers: { ...bearer(credential), "content-type": "application/json" },
          body: JSON.stringify(scoreEvent(board, playerId, 5)),
        },
        env,
      );
    const ok = await post(token, "jwks-1");
    expect(ok.status).toBe(202);
    expect(((await ok.json()) as { accepted: number }).accepted).toBe(1);
    const other = (await (await post(token, "jwks-2")).json()) as {
      rejected: Array<{ error: { code: string } }>;
    };
    expect(other.rejected[0]?.error.code).toBe("FORBIDDEN");
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: jwk.kid })
      .setSubject("jwks-1")
      .setIssuer(env.IDP_ISSUER)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    const refused = await post(expired, "jwks-1");
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain("expired");
  });
});

describe("who may write and read what", () => {
  it("a server-authoritative board takes scores only from a key with scores:write-any", async () => {
    const board = await createBoard({ clientWrites: false });
    const token = await playerToken("auth-1");
    const writer = await createKey(["events:write"]);
    const authority = await createKey(["events:write", "scores:write-any"]);
    for (const credential of [token, writer.key]) {
      const { body } = await send(credential, [scoreEvent(board, "auth-1", 50)]);
      expect(body.accepted).toBe(0);
      expect(body.rejected[0]?.error.code).toBe("FORBIDDEN");
    }
    expect((await send(authority.key, [scoreEvent(board, "auth-1", 50)])).body.accepted).toBe(1);
  });

  it("a private board needs a player token or a read key; it is left out of other callers' rank lists", async () => {
    const board = await createBoard({ public: false });
    expect((await api(`/v1/leaderboards/${board}`)).status).toBe(401);
    expect((await api(`/v1/boards/${board}`)).status).toBe(401);
    const writer = await createKey(["events:write"]);
    expect((await api(`/v1/leaderboards/${board}`, { headers: bearer(writer.key) })).status).toBe(
      403,
    );
    const reader = await createKey(["read"]);
    const page = await api(`/v1/leaderboards/${board}`, { headers: bearer(reader.key) });
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toMatch(/^private/);
    expect(
      (await api(`/v1/leaderboards/${board}`, { headers: bearer(await playerToken("priv-1")) }))
        .status,
    ).toBe(200);

    await send(writer.key, [scoreEvent(board, "priv-1", 8)]);
    await eventually(async () => ((await scoreRows(board)).length === 1 ? true : undefined));
    const ranks = async (headers: Record<string, string>) =>
      (
        (await (await api("/v1/players/priv-1/ranks", { headers })).json()) as {
          ranks: Array<{ board: string }>;
        }
      ).ranks.map((r) => r.board);
    expect(await ranks({})).not.toContain(board);
    expect(await ranks(bearer(reader.key))).toContain(board);
  });
});

describe("signed requests", () => {
  it("a key that requires signing is refused unsigned, accepted signed, and a replay of the signed request is refused", async () => {
    const created = await createKey(["events:write"], "signing server", { requireSignature: true });
    const board = await createBoard();
    const body = JSON.stringify(scoreEvent(board, "sig-1", 5));
    const base = { ...bearer(created.key), "content-type": "application/json" };
    expect((await api("/v1/events", { method: "POST", headers: base, body })).status).toBe(401);
    const signature = await signRequest(
      await signingKeyOf(created.key),
      "POST",
      "/v1/events",
      body,
      Date.now(),
    );
    const signed = await api("/v1/events", {
      method: "POST",
      headers: { ...base, ...signature },
      body,
    });
    expect(signed.status).toBe(202);
    const replayed = await api("/v1/events", {
      method: "POST",
      headers: { ...base, ...signature },
      body,
    });
    expect(replayed.status).toBe(401);
    expect(await replayed.text()).toContain("already received");
    // A tampered body with a valid-looking signature fails too.
    const tampered = await api("/v1/events", {
      method: "POST",
      headers: {
        ...base,
        ...(await signRequest(
          await signingKeyOf(created.key),
          "POST",
          "/v1/events",
          body,
          Date.now(),
        )),
      },
      body: body.replace('"score":5', '"score":500'),
    });
    expect(tampered.status).toBe(401);
  });
});
