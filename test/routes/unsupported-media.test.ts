import { describe, expect, it } from "vitest";
import { errorStatus } from "../../src/lib/errors";
import { ADMIN, api } from "../helpers/factories";

type ErrorReply = { error: { code: keyof typeof errorStatus; message: string } };

/**
 * Errors raised by Hono and the route validators carry the code of their status, as ApiErrors do.
 */
describe("errors with a bare status", () => {
  it("a body the route does not take is 415 UNSUPPORTED_MEDIA_TYPE, never a 415 labelled BAD_REQUEST", async () => {
    const body = JSON.stringify({ id: "never-created", name: "x" });
    for (const headers of [
      { ...ADMIN, "content-type": "text/plain" },
      { authorization: ADMIN.authorization },
    ]) {
      const res = await api("/v1/admin/boards", { method: "POST", headers, body });
      expect(res.status).toBe(415);
      const reply = (await res.json()) as ErrorReply;
      expect(reply.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(errorStatus[reply.error.code]).toBe(415);
    }
  });

  it("malformed JSON stays 400 BAD_REQUEST", async () => {
    const res = await api("/v1/admin/boards", { method: "POST", headers: ADMIN, body: '{"id":' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorReply).error.code).toBe("BAD_REQUEST");
  });
});
