import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { SCOPES } from "../../src/domain";
import { type Access, declaredAccess } from "../../src/routes/access";
import { ADMIN, api, createBoard, eventId, query, testEnv, uniqueId } from "../helpers/factories";
import { bearer, createKey, expiredToken, playerToken, revokeKey, unknownKey } from "./credentials";

/**
 * Every route × every kind of credential, generated from the routes the app registers: a route
 * added without a declared access, or without a sample request here, fails this file.
 */
const PLAYER = "matrix-player";
let board = "";
/** The board the archive route is called on (archiving again is a 200 too). */
let archivable = "";
/** An ended tournament (finalising it again is a 200 too). */
let tournament = "";
/** A running tournament, for joins. */
let running = "";

/** Routes that are deliberately outside the access layer. */
const UNGUARDED = new Set([
  "GET /openapi.json",
  "GET /docs",
  "GET /",
  // Static pages (routes/pages.ts): the console asks for the admin key in the browser; the embed
  // page reads only the public API.
  "GET /console",
  "GET /console/index.html",
  "GET /console/",
  "GET /embed/",
  "GET /embed/{board}",
]);

/**
 * A request each route accepts when the credential is right; `key` is a fresh key id for DELETE.
 */
type Sample = (ctx: { board: string; key: string }) => { path: string; body?: unknown };
const SAMPLES: Record<string, Sample> = {
  "GET /health": () => ({ path: "/health" }),
  "GET /health/ready": () => ({ path: "/health/ready" }),
  "POST /v1/events": ({ board }) => ({
    path: "/v1/events",
    body: {
      id: eventId(),
      type: "score",
      playerId: PLAYER,
      boardId: board,
      score: 5,
      occurredAt: new Date().toISOString(),
    },
  }),
  "POST /v1/admin/boards": () => ({
    path: "/v1/admin/boards",
    body: { id: uniqueId("mx"), name: "matrix" },
  }),
  "GET /v1/admin/boards": () => ({ path: "/v1/admin/boards?limit=5&includeArchived=true" }),
  "PATCH /v1/admin/boards/{board}": ({ board }) => ({
    path: `/v1/admin/boards/${board}`,
    body: { name: "matrix, edited" },
  }),
  "DELETE /v1/admin/boards/{board}": () => ({ path: `/v1/admin/boards/${archivable}` }),
  "DELETE /v1/admin/boards/{board}/players/{player}": ({ board }) => ({
    path: `/v1/admin/boards/${board}/players/matrix-removed?reason=matrix`,
  }),
  "POST /v1/admin/players/{player}/ban": () => ({
    path: "/v1/admin/players/matrix-banned/ban",
    body: { reason: "matrix" },
  }),
  "DELETE /v1/admin/players/{player}/ban": () => ({ path: "/v1/admin/players/matrix-banned/ban" }),
  "GET /v1/admin/audit": () => ({ path: "/v1/admin/audit?limit=5&player=matrix-banned" }),
  "GET /v1/boards/{board}": ({ board }) => ({ path: `/v1/boards/${board}` }),
  "GET /v1/leaderboards/{board}": ({ board }) => ({ path: `/v1/leaderboards/${board}` }),
  "GET /v1/leaderboards/{board}/players/{player}": ({ board }) => ({
    path: `/v1/leaderboards/${board}/players/nobody`,
  }),
  "GET /v1/leaderboards/{board}/players/{player}/around": ({ board }) => ({
    path: `/v1/leaderboards/${board}/players/nobody/around`,
  }),
  "POST /v1/leaderboards/{board}/players": ({ board }) => ({
    path: `/v1/leaderboards/${board}/players`,
    body: { playerIds: ["a"] },
  }),
  "GET /v1/leaderboards/{board}/rank-of": ({ board }) => ({
    path: `/v1/leaderboards/${board}/rank-of?score=10`,
  }),
  "GET /v1/leaderboards/{board}/live": ({ board }) => ({ path: `/v1/leaderboards/${board}/live` }),
  "GET /v1/players/{player}/ranks": () => ({ path: `/v1/players/${PLAYER}/ranks` }),
  "POST /v1/players/{player}/tokens": () => ({ path: `/v1/players/${PLAYER}/tokens`, body: {} }),
  "GET /v1/admin/dlq": () => ({ path: "/v1/admin/dlq" }),
  "POST /v1/admin/dlq/replay": () => ({
    path: "/v1/admin/dlq/replay",
    body: { ids: [2_000_000_000] },
  }),
  "GET /v1/admin/ingest/stats": () => ({ path: "/v1/admin/ingest/stats" }),
  "GET /v1/admin/metrics": () => ({ path: "/v1/admin/metrics" }),
  "GET /v1/admin/jobs": () => ({ path: "/v1/admin/jobs?job=upkeep&limit=5" }),
  "GET /v1/admin/stats": () => ({ path: "/v1/admin/stats?granularity=day&type=score" }),
  "GET /v1/admin/leaderboards/{board}/object": ({ board }) => ({
    path: `/v1/admin/leaderboards/${board}/object`,
  }),
  "POST /v1/admin/keys": () => ({
    path: "/v1/admin/keys",
    body: { name: "matrix", scopes: ["read"] },
  }),
  "GET /v1/admin/keys": () => ({ path: "/v1/admin/keys" }),
  "POST /v1/admin/tournaments": () => ({
    path: "/v1/admin/tournaments",
    body: {
      id: uniqueId("mxt"),
      name: "matrix",
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      endsAt: new Date(Date.now() + 7_200_000).toISOString(),
    },
  }),
  "GET /v1/tournaments": () => ({ path: "/v1/tournaments?status=upcoming&limit=5" }),
  "GET /v1/tournaments/{id}": () => ({ path: `/v1/tournaments/${tournament}` }),
  "POST /v1/tournaments/{id}/join": () => ({
    path: `/v1/tournaments/${running}/join`,
    body: { playerId: PLAYER },
  }),
  "GET /v1/tournaments/{id}/leaderboard": () => ({
    path: `/v1/tournaments/${tournament}/leaderboard`,
  }),
  "GET /v1/tournaments/{id}/players/{player}": () => ({
    path: `/v1/tournaments/${tournament}/players/nobody?instance=main`,
  }),
  "GET /v1/tournaments/{id}/players/{player}/around": () => ({
    path: `/v1/tournaments/${running}/players/nobody/around?n=2`,
  }),
  "POST /v1/admin/tournaments/{id}/finalize": () => ({
    path: `/v1/admin/tournaments/${tournament}/finalize`,
    body: {},
  }),
  "POST /v1/admin/tournaments/{id}/attempts": () => ({
    path: `/v1/admin/tournaments/${tournament}/attempts`,
    body: { playerId: PLAYER, instance: "main", count: 1 },
  }),
  "GET /v1/players/{player}/prizes": () => ({ path: `/v1/players/${PLAYER}/prizes` }),
  "POST /v1/players/{player}/prizes/{prize}/claim": () => ({
    path: `/v1/players/${PLAYER}/prizes/999999999/claim`,
  }),
  "DELETE /v1/admin/keys/{id}": ({ key }) => ({ path: `/v1/admin/keys/${key}` }),
};

type Variant =
  | "none"
  | "wrong key"
  | "revoked key"
  | "expired token"
  | "token for another player"
  | "wrong scope"
  | "right credential";
const VARIANTS: Variant[] = [
  "none",
  "wrong key",
  "revoked key",
  "expired token",
  "token for another player",
  "wrong scope",
  "right credential",
];

const credentials: Record<string, string> = {};

function routeList(): Array<{ id: string; access: Access }> {
  const app = createApp();
  const registered = [
    ...new Set(
      app.routes
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`),
    ),
  ];
  const declared = declaredAccess();
  return registered
    .filter((id) => !UNGUARDED.has(id))
    .map((id) => ({ id, access: declared.get(id) as Access }));
}

/** What a variant sends, for a route with this access. */
function credentialFor(variant: Variant, access: Access): string | undefined {
  switch (variant) {
    case "none":
      return undefined;
    case "wrong key":
      return credentials.unknown;
    case "revoked key":
      return credentials.revoked;
    case "expired token":
      return credentials.expired;
    case "token for another player":
      return credentials.otherPlayer;
    case "wrong scope":
      // A key with every scope but the one needed (admin-key routes: a key with every scope, which
      // is still no admin key).
      // player-read: a key without read (events:write only).
      if (access.credential === "player-read") return credentials.writer;
      return access.credential === "event-write" ? credentials.readOnly : credentials.allScopes;
    case "right credential":
      if (access.credential === "event-write") return credentials.writer;
      if (access.credential === "admin-key") return testEnv.ADMIN_KEY;
      if (
        access.credential === "none" ||
        access.credential === "board-read" ||
        access.credential === "player-read"
      )
        return credentials.reader;
      return credentials[`scope:${access.credential}`];
  }
}

/** The statuses a variant may get on a route with this access. */
function expected(id: string, variant: Variant, access: Access): number[] {
  const ok = [200, 201, 202, 404, 426];
  if (access.credential === "none") return [200, 503];
  if (variant === "right credential") return ok;
  if (variant === "wrong key" || variant === "revoked key" || variant === "expired token")
    return [401];
  if (access.credential === "board-read") return ok;
  if (variant === "none") return [401];
  if (variant === "token for another player") return id === "POST /v1/events" ? [202] : [403];
  return [403];
}

describe("every route × every credential", () => {
  beforeAll(async () => {
    board = await createBoard();
    archivable = await createBoard();
    tournament = uniqueId("mxt");
    const created = await api("/v1/admin/tournaments", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id: tournament,
        name: "matrix",
        startsAt: new Date(Date.now() - 7_200_000).toISOString(),
        endsAt: new Date(Date.now() - 3_600_000).toISOString(),
      }),
    });
    expect(created.status).toBe(201);
    // The admin grants attempts to a player who joined the (ended) instance.
    await query(sql`insert into tournament_entries (tournament_id, instance_key, player_id)
                    values (${tournament}, 'main', ${PLAYER})`);
    running = uniqueId("mxr");
    const started = await api("/v1/admin/tournaments", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id: running,
        name: "matrix",
        startsAt: new Date(Date.now() - 3_600_000).toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    expect(started.status).toBe(201);
    const revoked = await createKey(["events:write", "read", "boards:admin"]);
    await revokeKey(revoked.id);
    credentials.revoked = revoked.key;
    credentials.unknown = await unknownKey();
    credentials.expired = await expiredToken(PLAYER);
    credentials.otherPlayer = await playerToken("someone-else");
    credentials.writer = (await createKey(["events:write"])).key;
    credentials.reader = (await createKey(["read"])).key;
    credentials.readOnly = (await createKey(["read", "tokens:mint", "boards:admin"])).key;
    credentials.allScopes = (await createKey([...SCOPES])).key;
    for (const scope of SCOPES) {
      credentials[`scope:${scope}`] = (await createKey([scope])).key;
    }
  });

  it("covers every registered route with a declared access and a sample request", () => {
    const routes = routeList();
    expect(routes.length).toBeGreaterThanOrEqual(20);
    for (const { id, access } of routes) {
      expect(
        access,
        `${id} declares no access: build it with guardedRoute (src/routes/access.ts)`,
      ).toBeDefined();
      expect(
        SAMPLES[id],
        `${id} has no sample request in test/access/matrix.test.ts`,
      ).toBeDefined();
    }
  });

  it("answers each credential as the route's access says", async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const { id, access } of routeList()) {
      const method = id.split(" ")[0] as string;
      for (const variant of VARIANTS) {
        let credential = credentialFor(variant, access);
        if (
          variant === "wrong scope" &&
          typeof access.credential === "string" &&
          access.credential.includes(":")
        ) {
          // A key holding every scope except the one this route needs.
          const others = SCOPES.filter((s) => s !== access.credential);
          credential = (await createKey(others)).key;
        }
        const key = method === "DELETE" ? (await createKey(["read"], "to revoke")).id : "";
        const sample = SAMPLES[id]?.({ board, key });
        if (!sample) continue;
        const headers: Record<string, string> = { ...(credential ? bearer(credential) : {}) };
        if (sample.body !== undefined) headers["content-type"] = "application/json";
        const res = await api(sample.path, {
          method,
          headers,
          body: sample.body === undefined ? null : JSON.stringify(sample.body),
        });
        checked += 1;
        const want = expected(id, variant, access);
        const text = await res.text();
        if (!want.includes(res.status))
          failures.push(
            `${id} with ${variant}: ${res.status} (want ${want.join("/")}) ${text.slice(0, 160)}`,
          );
        if (res.status === 401 || res.status === 403) {
          const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          if (code !== (res.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN"))
            failures.push(`${id} with ${variant}: ${res.status} with code ${code}`);
        }
        if (
          id === "POST /v1/events" &&
          variant === "token for another player" &&
          res.status === 202
        ) {
          const body = JSON.parse(text) as {
            accepted: number;
            rejected: Array<{ error: { code: string } }>;
          };
          if (body.accepted !== 0 || body.rejected[0]?.error.code !== "FORBIDDEN")
            failures.push(
              `${id} with ${variant}: accepted ${body.accepted}, rejected ${JSON.stringify(body.rejected)}`,
            );
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(routeList().length * VARIANTS.length);
  }, 120_000);

  it("keeps ADMIN_KEY working on every admin route", async () => {
    for (const { id, access } of routeList()) {
      if (
        access.credential === "none" ||
        access.credential === "board-read" ||
        access.credential === "event-write"
      )
        continue;
      const method = id.split(" ")[0] as string;
      const key = method === "DELETE" ? (await createKey(["read"], "to revoke")).id : "";
      const sample = SAMPLES[id]?.({ board, key });
      if (!sample) continue;
      const res = await api(sample.path, {
        method,
        headers: ADMIN,
        body: sample.body === undefined ? null : JSON.stringify(sample.body),
      });
      expect(
        [200, 201, 202],
        `${id} with the admin key: ${res.status} ${await res.clone().text()}`,
      ).toContain(res.status);
    }
  });
});
