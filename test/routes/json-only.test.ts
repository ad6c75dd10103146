import { describe, expect, it } from "vitest";
import { api, eventId, testEnv, uniqueId } from "../helpers/factories";

type ErrorReply = { error: { code: string; message: string; requestId: string } };

const event = () => ({
  id: eventId(),
  type: "level_up",
  playerId: "p1",
  occurredAt: new Date().toISOString(),
});
const admin = { authorization: `Bearer ${testEnv.ADMIN_KEY}` };

/** The bodies a browser sends cross-origin without a preflight, and a body with no type at all. */
function hostileBodies(json: string): Array<[string, () => RequestInit]> {
  return [
    ["text/plain", () => ({ headers: { "content-type": "text/plain" }, body: json })],
    ["form-encoded", () => ({ body: new URLSearchParams({ json }) })],
    [
      "multipart",
      () => {
        const form = new FormData();
        form.set("json", json);
        return { body: form };
      },
    ],
    ["no content-type", () => ({ body: new TextEncoder().encode(json) })],
  ];
}

async function post(
  path: string,
  init: RequestInit,
  headers: Record<string, string> = {},
): Promise<Response> {
  return api(path, {
    ...init,
    method: "POST",
    headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
  });
}

describe("bodies must be JSON (415 otherwise)", () => {
  it("POST /v1/events refuses text/plain, form-encoded, multipart and untyped bodies", async () => {
    for (const [kind, init] of hostileBodies(JSON.stringify(event()))) {
      const res = await post("/v1/events", init());
      expect([kind, res.status]).toEqual([kind, 415]);
      const body = (await res.json()) as ErrorReply;
      expect(body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(body.error.message).toContain("Content-Type: application/json");
      expect(body.error.requestId).toBeTruthy();
    }
  });

  it("POST /v1/admin/boards refuses them too, with a valid admin key", async () => {
    for (const [kind, init] of hostileBodies(JSON.stringify({ id: uniqueId("b"), name: "x" }))) {
      const res = await post("/v1/admin/boards", init(), admin);
      expect([kind, res.status]).toEqual([kind, 415]);
      expect(((await res.json()) as ErrorReply).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("accepts application/json with or without charset=utf-8, in any case", async () => {
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "Application/JSON;charset=UTF-8",
    ]) {
      const res = await post(
        "/v1/events",
        { headers: { "content-type": type }, body: JSON.stringify(event()) },
        admin,
      );
      expect([type, res.status]).toEqual([type, 202]);
    }
    const board = await post(
      "/v1/admin/boards",
      {
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ id: uniqueId("b"), name: "x" }),
      },
      admin,
    );
    expect(board.status).toBe(201);
  });

  it("refuses other JSON-looking types and charsets", async () => {
    for (const type of [
      "application/json; charset=iso-8859-1",
      "application/json-patch+json",
      "text/json",
      "application/jsonx",
    ]) {
      const res = await post("/v1/events", {
        headers: { "content-type": type },
        body: JSON.stringify(event()),
      });
      expect([type, res.status]).toEqual([type, 415]);
    }
  });

  it("leaves bodiless requests to the route (400 for a body it needs)", async () => {
    expect((await post("/v1/admin/boards", {}, admin)).status).toBe(400);
    expect(
      (await api("/v1/events", { method: "POST", headers: { authorization: admin.authorization } }))
        .status,
    ).toBe(400);
  });

  it("the OpenAPI document lists the 415 on every route that takes a body", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>
      >;
    };
    const withBody = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.requestBody !== undefined)
        .map(([method, operation]) => [`${method} ${path}`, "415" in operation.responses]),
    );
    expect(withBody.length).toBeGreaterThanOrEqual(3);
    expect(withBody.filter(([, documented]) => !documented)).toEqual([]);
    // POST /v1/events reads its body by hand (per-item judgement), so the document shows no
    // requestBody for it.
    expect(Object.keys(doc.paths["/v1/events"]?.post?.responses ?? {})).toContain("415");
  });
});
