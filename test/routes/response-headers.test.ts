import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { editResponseHeaders } from "../../src/routes/middleware/response-headers";

/** An app whose middleware edits the answer of `handler`, and says whether it kept the object. */
function appAnswering(handler: () => Response) {
  let answered: Response | undefined;
  let kept: boolean | undefined;
  const app = new Hono();
  app.use("*", async (c, next) => {
    await next();
    editResponseHeaders(c, (headers) => headers.set("x-edited", "yes"));
    kept = c.res === answered;
  });
  app.get("/", () => {
    answered = handler();
    return answered;
  });
  return { app, kept: () => kept };
}

describe("editResponseHeaders", () => {
  it("edits a response built by a route in place, without a copy", async () => {
    const { app, kept } = appAnswering(() => new Response("body", { status: 201 }));
    const res = await app.request("/");
    expect([res.status, res.headers.get("x-edited"), await res.text()]).toEqual([
      201,
      "yes",
      "body",
    ]);
    expect(kept()).toBe(true);
  });

  it("copies a response whose headers are immutable once, keeping its status and headers", async () => {
    const { app, kept } = appAnswering(() => Response.redirect("https://example.com/next", 302));
    const res = await app.request("/");
    expect([res.status, res.headers.get("location"), res.headers.get("x-edited")]).toEqual([
      302,
      "https://example.com/next",
      "yes",
    ]);
    expect(kept()).toBe(false);
  });
});
