import type { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppContext } from "./context";

/**
 * Serves the OpenAPI document at /openapi.json, with the three credentials routes name in their
 * `security` (routes/access.ts), and an interactive reference of it at /docs (`/` leads there).
 * Call it after every route is registered.
 */
export function registerOpenApiDocument(app: OpenAPIHono<AppContext>): void {
  const schemes = app.openAPIRegistry;
  schemes.registerComponent("securitySchemes", "adminKey", {
    type: "http",
    scheme: "bearer",
    description: "ADMIN_KEY: every scope",
  });
  schemes.registerComponent("securitySchemes", "serverKey", {
    type: "http",
    scheme: "bearer",
    description:
      "A server key from POST /v1/admin/keys (eb_…); " +
      "the required scope is named in the requirement",
  });
  schemes.registerComponent("securitySchemes", "playerToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A player token: minted by POST /v1/players/{player}/tokens, " +
      "or issued by the studio's identity provider",
  });
  const info = { title: "Edgeboard API", version: "0.1.0" };
  app.doc31("/openapi.json", { openapi: "3.1.0", info });
  // The reference's script is a static asset of this Worker (wrangler.toml [assets]), not a CDN:
  // /docs works offline under `wrangler dev` and loads nothing from a third party.
  app.get(
    "/docs",
    Scalar({ url: "/openapi.json", cdn: "/docs/scalar.js", pageTitle: "Edgeboard API" }),
  );
  app.get("/", (c) => c.redirect("/docs", 302));
}
