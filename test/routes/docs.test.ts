import { describe, expect, it } from "vitest";
import { api, testEnv } from "../helpers/factories";

/** The API reference: served by the Worker, its script a static asset of it (no CDN, works offline). */
describe("API reference", () => {
  it("GET /docs renders the reference of /openapi.json with the Worker's own script", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    expect(html).toContain('src="/docs/scalar.js"');
    expect(html).not.toMatch(/cdn\.jsdelivr|unpkg\.com/);
  });

  // The test runtime's fetch reaches the Worker only, not the asset router in front of it, so the
  // asset is read through the Worker's ASSETS binding: what the deploy uploads with it.
  it("the script is a static asset of the Worker", async () => {
    const res = await testEnv.ASSETS.fetch("http://edge.test/docs/scalar.js");
    expect(res.status, (await res.clone().text()).slice(0, 300)).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect((await res.text()).length).toBeGreaterThan(100_000);
  });

  it("/ leads to the reference", async () => {
    const res = await api("/", { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/docs");
  });
});
