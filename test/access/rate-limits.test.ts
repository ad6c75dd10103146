import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { AppBindings } from "../../src/env";
import { counters } from "../../src/lib/metrics";
import { createBoard, eventId, eventually, testEnv, uniqueId } from "../helpers/factories";
import { bearer, playerToken } from "./credentials";

/**
 * The limits with the Workers Rate Limiting binding as miniflare simulates it: wrangler.toml's
 * budgets are lifted for the rest of the suite (vitest.config.ts), so these tests swap in
 * TEST_RATE_LIMIT, a real binding of 5 requests per 10 s, where each budget is read.
 */
const app = createApp();
const small = (testEnv as unknown as { TEST_RATE_LIMIT: RateLimit }).TEST_RATE_LIMIT;

async function call(path: string, init: RequestInit, env: AppBindings) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const scoreBody = (board: string, playerId: string) =>
  JSON.stringify({
    id: eventId(),
    type: "score",
    playerId,
    boardId: board,
    score: 1,
    occurredAt: new Date().toISOString(),
  });

describe("rate limits", () => {
  it("per address and route class: the 6th read within the window is a 429 with Retry-After and the JSON error, counted; it resets", async () => {
    const board = await createBoard();
    const env = { ...testEnv, RATE_LIMIT_READ_IP: small };
    const address = {
      "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250)}-${uniqueId("ip")}`,
    };
    const before = counters.rateLimited;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await call(`/v1/leaderboards/${board}`, { headers: address }, env)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = await call(`/v1/leaderboards/${board}`, { headers: address }, env);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    expect(counters.rateLimited - before).toBe(2);
    // Another address has its own budget; writes are another class.
    expect(
      (
        await call(
          `/v1/leaderboards/${board}`,
          { headers: { "cf-connecting-ip": uniqueId("other") } },
          env,
        )
      ).status,
    ).toBe(200);
    // The window passes.
    await eventually(
      async () =>
        (await call(`/v1/leaderboards/${board}`, { headers: address }, env)).status === 200
          ? true
          : undefined,
      25_000,
    );
  }, 40_000);

  it("per player token across routes: the player's 6th write is refused, another player's is not", async () => {
    const board = await createBoard();
    const env = { ...testEnv, RATE_LIMIT_PLAYER: small };
    const player = uniqueId("rl-player");
    const token = await playerToken(player);
    const post = (credential: string, playerId: string) =>
      call(
        "/v1/events",
        {
          method: "POST",
          headers: {
            ...bearer(credential),
            "content-type": "application/json",
            "cf-connecting-ip": uniqueId("ip"),
          },
          body: scoreBody(board, playerId),
        },
        env,
      );
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(token, player)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    const other = uniqueId("rl-other");
    expect((await post(await playerToken(other), other)).status).toBe(202);
  });

  it("per address, writes have their own budget: the 6th write is a 429 naming it", async () => {
    const board = await createBoard();
    const write = (env: AppBindings, address: string) =>
      call(
        "/v1/events",
        {
          method: "POST",
          headers: {
            authorization: `Bearer ${testEnv.ADMIN_KEY}`,
            "content-type": "application/json",
            "cf-connecting-ip": address,
          },
          body: scoreBody(board, "rl-writer"),
        },
        env,
      );
    const read = (env: AppBindings, address: string) =>
      call(`/v1/leaderboards/${board}`, { headers: { "cf-connecting-ip": address } }, env);

    const writes = { ...testEnv, RATE_LIMIT_WRITE_IP: small };
    const writer = uniqueId("ip-w");
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await write(writes, writer)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    const refused = await write(writes, writer);
    expect(await refused.json()).toMatchObject({
      error: {
        code: "RATE_LIMITED",
        message: "Too many requests: this address's write budget is spent; retry after 60 s",
      },
    });
    expect((await read(writes, writer)).status).toBe(200);

    const reads = { ...testEnv, RATE_LIMIT_READ_IP: small };
    const reader = uniqueId("ip-r");
    for (let i = 0; i < 5; i++) expect((await read(reads, reader)).status).toBe(200);
    expect((await read(reads, reader)).status).toBe(429);
    expect((await write(reads, reader)).status).toBe(202);
  });

  it.skipIf(!testEnv.UPSTASH_REDIS_REST_URL)(
    "across PoPs with Upstash: a player's writes beyond the global budget are refused",
    async () => {
      const board = await createBoard();
      const env = { ...testEnv, GLOBAL_RATE_LIMIT_PLAYER_PER_MINUTE: "3" };
      const player = uniqueId("rl-global");
      const token = await playerToken(player);
      const before = counters.rateLimitedGlobal;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await call(
          "/v1/events",
          {
            method: "POST",
            headers: {
              ...bearer(token),
              "content-type": "application/json",
              "cf-connecting-ip": uniqueId("pop"),
            },
            body: scoreBody(board, player),
          },
          env,
        );
        statuses.push(res.status);
        if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      }
      expect(statuses).toEqual([202, 202, 202, 429]);
      expect(counters.rateLimitedGlobal - before).toBe(1);
    },
  );

  it("shows its refusals in the metrics route", async () => {
    const res = await call(
      "/v1/admin/metrics",
      { headers: { authorization: `Bearer ${testEnv.ADMIN_KEY}` } },
      testEnv,
    );
    const metrics = (await res.json()) as Record<string, number>;
    expect(metrics).toHaveProperty("rateLimited");
    expect(metrics).toHaveProperty("rateLimitedGlobal");
    expect(metrics).toHaveProperty("authRefused");
  });
});
