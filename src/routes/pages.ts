import type { Context, Hono } from "hono";
import type { AppContext } from "./context";

/**
 * The browser pages served from the Worker's static assets (public/, wrangler.toml [assets]) with
 * headers of their own. Their HTML paths are in [assets] run_worker_first, so these handlers answer
 * them instead of the asset router; scripts and styles are served by the asset router directly.
 *
 * - /console: the operator console. Same-origin scripts, styles and connections only, and never
 *   framed (clickjacking). It holds no secret: the admin key is typed in and kept in the tab's
 *   sessionStorage.
 * - /embed/<board>: a board's public live view that studios put in an iframe on their site, so
 *   any site may frame it. It sends no credential: a private board answers 403/404 to it.
 *
 * Registered before the API's security headers (JSON-only: `default-src 'none'`, never framed),
 * which would forbid both pages their own scripts.
 */
const BASE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot sets inline styles on the elements it draws.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
];

const CONSOLE_HEADERS: Record<string, string> = {
  "content-security-policy": [...BASE_POLICY, "frame-ancestors 'none'"].join("; "),
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
};

const EMBED_HEADERS: Record<string, string> = {
  "content-security-policy": [...BASE_POLICY, "frame-ancestors *"].join("; "),
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cache-control": "public, max-age=60",
};

async function page(
  c: Context<AppContext>,
  asset: string,
  headers: Record<string, string>,
): Promise<Response> {
  // The directory's URL: html_handling answers index.html there (and redirects /index.html).
  const res = await c.env.ASSETS.fetch(new URL(asset, c.req.url));
  if (!res.ok) return new Response("Not found", { status: 404 });
  const out = new Response(res.body, { status: 200, headers: res.headers });
  for (const [name, value] of Object.entries(headers)) out.headers.set(name, value);
  return out;
}

export function registerPages(app: Hono<AppContext>): void {
  app.get("/console", (c) => c.redirect("/console/", 302));
  app.get("/console/index.html", (c) => c.redirect("/console/", 302));
  app.get("/console/", (c) => page(c, "/console/", CONSOLE_HEADERS));
  // The board is read by the page from its path, or from ?board= on /embed/.
  app.get("/embed/", (c) => page(c, "/embed/", EMBED_HEADERS));
  app.get("/embed/:board", (c) => page(c, "/embed/", EMBED_HEADERS));
}
