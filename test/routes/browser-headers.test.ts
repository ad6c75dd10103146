import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { api, createBoard, testEnv } from "../helpers/factories";

const GAME = "https://game.example";

function preflight(path: string, origin: string): Promise<Response> {
  return api(path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type, authorization",
    },
  });
}

describe("CORS (CORS_ORIGINS lists the allowed origins; the tests allow https://game.example)", () => {
  it("a preflight from an allowed origin on any /v1 path is granted with 204", async () => {
    for (const path of [
      "/v1/events",
      "/v1/admin/boards",
      "/v1/leaderboards/some-board",
      "/v1/no-such-route",
    ]) {
      const res = await preflight(path, GAME);
      expect([path, res.status]).toEqual([path, 204]);
      expect(res.headers.get("access-control-allow-origin")).toBe(GAME);
      expect(res.headers.get("access-control-max-age")).toBe("600");
      expect(res.headers.get("vary")).toMatch(/origin/i);
      const allowed = (res.headers.get("access-control-allow-headers") ?? "")
        .toLowerCase()
        .split(",");
      for (const header of [
        "content-type",
        "authorization",
        "if-none-match",
        "x-edgeboard-timestamp",
        "x-edgeboard-signature",
      ]) {
        expect(allowed).toContain(header);
      }
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    }
  });

  it("a preflight from any other origin is not granted", async () => {
    for (const origin of [
      "https://evil.example",
      "https://game.example.evil.example",
      "http://game.example",
      "null",
    ]) {
      const res = await preflight("/v1/events", origin);
      expect(res.status).toBeLessThan(300);
      expect([origin, res.headers.get("access-control-allow-origin")]).toEqual([origin, null]);
    }
  });

  it("an empty CORS_ORIGINS grants no origin", async () => {
    const ctx = createExecutionContext();
    const res = await createApp().request(
      "/v1/events",
      { method: "OPTIONS", headers: { origin: GAME, "access-control-request-method": "POST" } },
      { ...testEnv, CORS_ORIGINS: "" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("responses, errors included, let an allowed origin read them and the headers a client needs", async () => {
    const ok = await api("/v1/boards/no-such-board", { headers: { origin: GAME } });
    expect(ok.status).toBe(404);
    expect(ok.headers.get("access-control-allow-origin")).toBe(GAME);
    const exposed = (ok.headers.get("access-control-expose-headers") ?? "")
      .toLowerCase()
      .split(",");
    expect(exposed).toEqual(expect.arrayContaining(["etag", "retry-after", "x-request-id"]));
    const unauthorized = await api("/v1/admin/dlq", { headers: { origin: GAME } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("access-control-allow-origin")).toBe(GAME);
    const other = await api("/v1/boards/no-such-board", {
      headers: { origin: "https://evil.example" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("a request without an Origin (a game client, a server) gets no grant, and Vary: Origin", async () => {
    const board = await createBoard();
    for (const path of [`/v1/leaderboards/${board}`, "/v1/boards/no-such-board", "/v1/admin/dlq"]) {
      const res = await api(path);
      expect([path, res.headers.get("access-control-allow-origin")]).toEqual([path, null]);
      expect([path, res.headers.get("vary")]).toEqual([path, "Origin"]);
      expect(res.headers.get("x-request-id"), path).toBeTruthy();
    }
    const fromOrigin = await api(`/v1/leaderboards/${board}`, { headers: { origin: GAME } });
    expect(fromOrigin.headers.get("vary")).toBe("Origin");
  });
});

function expectSecurityHeaders(res: Response, what: string): void {
  const h = (name: string) => [what, res.headers.get(name)];
  expect(h("x-content-type-options")).toEqual([what, "nosniff"]);
  expect(h("content-security-policy")).toEqual([
    what,
    "default-src 'none'; frame-ancestors 'none'",
  ]);
  expect(h("referrer-policy")).toEqual([what, "no-referrer"]);
  expect(h("x-frame-options")).toEqual([what, "DENY"]);
  expect(res.headers.get("strict-transport-security"), what).toMatch(/^max-age=\d+/);
}

describe("security headers", () => {
  it("are on every response: a 200, a 404, a 400, a 401, a 415 and a preflight", async () => {
    expectSecurityHeaders(await api("/health"), "200");
    expectSecurityHeaders(await api("/v1/no-such-route"), "404");
    expectSecurityHeaders(await api("/v1/leaderboards/x?limit=0"), "400");
    expectSecurityHeaders(
      await api("/v1/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      }),
      "400 body",
    );
    expectSecurityHeaders(await api("/v1/admin/dlq"), "401");
    expectSecurityHeaders(
      await api("/v1/events", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "{}",
      }),
      "415",
    );
    expectSecurityHeaders(await preflight("/v1/events", GAME), "preflight");
  });

  it("are on edge-cached pages, from the origin and from the cache, with their cache headers intact", async () => {
    const board = await createBoard();
    const first = await api(`/v1/leaderboards/${board}`);
    expect(first.status).toBe(200);
    expectSecurityHeaders(first, "miss");
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    const again = await api(`/v1/leaderboards/${board}`);
    expect(again.status).toBe(200);
    expect(again.headers.get("x-edge-cache")).toMatch(/HIT|STALE/);
    expect(again.headers.get("cache-control")).toMatch(/^public, max-age=/);
    expectSecurityHeaders(again, "hit");
    const notModified = await api(`/v1/leaderboards/${board}`, {
      headers: { "if-none-match": etag ?? "" },
    });
    expect(notModified.status).toBe(304);
    expectSecurityHeaders(notModified, "304");
  });
});
