import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import savedDocument from "../../client/openapi.json";
import { createEdgeboardClient } from "../../client/src";
import { api, eventually, testEnv, uniqueId } from "../helpers/factories";

/** The typed client (client/), calling the running worker: the test runtime's fetch reaches it. */
const client = (token?: string) =>
  createEdgeboardClient({
    baseUrl: "http://edge.test",
    fetch: (request) => exports.default.fetch(request),
    ...(token ? { token } : {}),
  });

describe("typed client", () => {
  it("is generated from the API as it is (else run npm run client:generate)", async () => {
    const live = await (await api("/openapi.json")).json();
    expect(live, "client/openapi.json trails the API: run `npm run client:generate`").toEqual(
      savedDocument,
    );
  });

  it("creates a board, sends a score and reads it back, typed end to end", async () => {
    const admin = client(testEnv.ADMIN_KEY);
    const id = uniqueId("cl");
    const created = await admin.POST("/v1/admin/boards", { body: { id, name: "Client board" } });
    expect(created.error).toBeUndefined();
    const sent = await admin.POST("/v1/events", {
      body: {
        events: [
          {
            id: crypto.randomUUID(),
            type: "score",
            playerId: "client-player",
            boardId: id,
            score: 42,
            occurredAt: new Date().toISOString(),
          },
        ],
      },
    });
    expect(sent.data?.accepted).toBe(1);
    const page = await eventually(async () => {
      const { data } = await client().GET("/v1/leaderboards/{board}", {
        params: { path: { board: id } },
      });
      return data && data.entries.length > 0 ? data : undefined;
    }, 20_000);
    expect(page.entries[0]).toMatchObject({ rank: 1, playerId: "client-player", score: 42 });
  });

  it("answers errors as the API's error body", async () => {
    const { data, error, response } = await client().GET("/v1/leaderboards/{board}", {
      params: { path: { board: "no-such-board-anywhere" } },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error?.error.code).toBe("NOT_FOUND");
  });
});
