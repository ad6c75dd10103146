import { describe, expect, it } from "vitest";
import { api } from "../helpers/factories";

/** The console and embed pages: the Worker serves their HTML from ASSETS with their own headers. */
describe("console and embed pages", () => {
  it("GET /console/ is the console, never framed, with no secret in it", async () => {
    const res = await api("/console/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('src="/console/console.js"');
    expect(html).not.toContain("test-admin");
  });

  it("/console and /console/index.html lead to /console/ (never the HTML without its headers)", async () => {
    for (const path of ["/console", "/console/index.html"]) {
      const res = await api(path, { redirect: "manual" });
      expect(res.status, path).toBe(302);
      expect(res.headers.get("location"), path).toBe("/console/");
    }
  });

  it("GET /embed/<board> is the embed page, which any site may frame", async () => {
    const res = await api("/embed/some-board");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-frame-options")).toBeNull();
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors *");
    expect(await res.text()).toContain('src="/embed/embed.js"');
  });
});
