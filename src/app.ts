import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppContext } from "./routes/context";
import { errorResponse, noRoute, validationFailed } from "./routes/error-handler";
import { bodySizeLimit } from "./routes/middleware/body-limit";
import { corsPolicy } from "./routes/middleware/cors";
import { jsonOnly } from "./routes/middleware/json-only";
import { requestInit } from "./routes/middleware/request-init";
import { securityHeaders } from "./routes/middleware/security-headers";
import { registerOpenApiDocument } from "./routes/openapi";
import { registerPages } from "./routes/pages";
import { registerRoutes } from "./routes/register";

/**
 * Builds the API: the init middleware that puts per-request values (request id, stores) on the
 * context, the browser-facing policies, one error handler for every failure, then the routes
 * (one file per operation) and the OpenAPI document that describes them.
 */
export function createApp(): OpenAPIHono<AppContext> {
  const app = new OpenAPIHono<AppContext>({ defaultHook: validationFailed });
  app.use("*", requestInit);
  // The console and embed pages set their own headers: registered before the API's.
  registerPages(app);
  app.use("*", securityHeaders);
  app.use("/v1/*", corsPolicy);
  app.use("/v1/*", jsonOnly);
  app.use("/v1/*", bodySizeLimit);
  app.onError(errorResponse);
  app.notFound(noRoute);
  registerRoutes(app);
  registerOpenApiDocument(app);
  return app;
}
