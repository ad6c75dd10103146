import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { DEPENDENCY_RETRY_AFTER_SECONDS, failedDependency } from "./lib/dependency-errors";
import { ApiError, codeOfStatus, errorBody } from "./lib/errors";
import { describeError, log } from "./lib/log";
import { registerDeleteKey } from "./routes/admin/delete-key";
import { registerGetDlq } from "./routes/admin/get-dlq";
import { registerGetIngestStats } from "./routes/admin/get-ingest-stats";
import { registerGetKeys } from "./routes/admin/get-keys";
import { registerGetMetrics } from "./routes/admin/get-metrics";
import { registerPostDlqReplay } from "./routes/admin/post-dlq-replay";
import { registerPostKey } from "./routes/admin/post-key";
import { registerGetBoard } from "./routes/boards/get-board";
import { registerPostBoard } from "./routes/boards/post-board";
import type { AppContext } from "./routes/context";
import { registerPostEvents } from "./routes/events/post-events";
import { registerGetHealthLive } from "./routes/health/get-live";
import { registerGetReady } from "./routes/health/get-ready";
import { registerGetAround } from "./routes/leaderboards/get-around";
import { registerGetLeaderboardLive } from "./routes/leaderboards/get-live";
import { registerGetPage } from "./routes/leaderboards/get-page";
import { registerGetPlayerRank } from "./routes/leaderboards/get-player-rank";
import { registerGetRankOf } from "./routes/leaderboards/get-rank-of";
import { registerPostPlayers } from "./routes/leaderboards/post-players";
import { corsPolicy } from "./routes/middleware/cors";
import { jsonOnly } from "./routes/middleware/json-only";
import { requestInit } from "./routes/middleware/request-init";
import { securityHeaders } from "./routes/middleware/security-headers";
import { registerGetPlayerRanks } from "./routes/players/get-ranks";
import { registerPostToken } from "./routes/players/post-token";
import { isSchemaMissing, MIGRATE_HINT } from "./stores/postgres/errors";

/**
 * Builds the API: one init middleware that puts per-request dependencies on the context, one error
 * handler that turns every failure into the `{error: {code, message, requestId}}` shape, then the
 * routes (one file per operation, each exporting a register function).
 */
export function createApp(): OpenAPIHono<AppContext> {
  const app = new OpenAPIHono<AppContext>({
    // zod failures become 400 with the path of each bad field.
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
      const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
      return c.json(errorBody("VALIDATION_FAILED", summary, c.get("requestId"), { issues }), 400);
    },
  });

  app.use("*", requestInit);
  app.use("*", securityHeaders);
  app.use("/v1/*", corsPolicy);
  app.use("/v1/*", jsonOnly);

  app.onError((error, c) => {
    const requestId = c.get("requestId") ?? "unknown";
    if (error instanceof ApiError) {
      return c.json(errorBody(error.code, error.message, requestId, error.details), error.status, error.headers);
    }
    if (error instanceof HTTPException) {
      // Hono's own 4xx (a malformed JSON body, a media type the route does not take): the code of its status.
      const code = codeOfStatus(error.status) ?? (error.status < 500 ? "BAD_REQUEST" : "INTERNAL_ERROR");
      return c.json(errorBody(code, error.message || "Bad request", requestId), error.status);
    }
    if (isSchemaMissing(error)) {
      // A deployment step missed, not a bug of the request: say what fixes it, to caller and log.
      log.error(`request failed: ${MIGRATE_HINT}`, { requestId, path: c.req.path, error: describeError(error) });
      return c.json(errorBody("DEPENDENCY_UNAVAILABLE", `Database not ready (${MIGRATE_HINT}); retry once it is migrated`, requestId), 503);
    }
    const dependency = failedDependency(error);
    if (dependency) {
      log.warn("request failed: a dependency is unavailable", { requestId, path: c.req.path, dependency, error: describeError(error) });
      return c.json(
        errorBody(
          "DEPENDENCY_UNAVAILABLE",
          `${dependency} could not answer; retry in ${DEPENDENCY_RETRY_AFTER_SECONDS} s (events are idempotent by id, so retrying a POST never double-counts)`,
          requestId,
          { retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS },
        ),
        503,
        { "retry-after": String(DEPENDENCY_RETRY_AFTER_SECONDS) },
      );
    }
    log.error("unhandled error", { requestId, path: c.req.path, error: describeError(error), stack: (error as Error)?.stack });
    return c.json(errorBody("INTERNAL_ERROR", "Internal error; retry later, and report the requestId if it persists", requestId), 500);
  });

  app.notFound((c) =>
    c.json(errorBody("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}; see /openapi.json`, c.get("requestId") ?? "unknown"), 404),
  );

  // 100 events of at most 8 KB of payload each, plus their envelopes.
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) =>
        c.json(errorBody("PAYLOAD_TOO_LARGE", "The body is over 1 MB; send fewer events per request", c.get("requestId")), 413),
    }),
  );

  registerGetHealthLive(app);
  registerGetReady(app);
  registerPostEvents(app);
  registerPostBoard(app);
  registerGetBoard(app);
  registerGetPage(app);
  registerGetPlayerRank(app);
  registerGetAround(app);
  registerPostPlayers(app);
  registerGetRankOf(app);
  registerGetLeaderboardLive(app);
  registerGetPlayerRanks(app);
  registerGetDlq(app);
  registerPostDlqReplay(app);
  registerGetIngestStats(app);
  registerGetMetrics(app);
  registerPostKey(app);
  registerGetKeys(app);
  registerDeleteKey(app);
  registerPostToken(app);

  const schemes = app.openAPIRegistry;
  schemes.registerComponent("securitySchemes", "adminKey", { type: "http", scheme: "bearer", description: "ADMIN_KEY: every scope" });
  schemes.registerComponent("securitySchemes", "serverKey", {
    type: "http",
    scheme: "bearer",
    description: "A server key from POST /v1/admin/keys (eb_…); the required scope is named in the requirement",
  });
  schemes.registerComponent("securitySchemes", "playerToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A player token: minted by POST /v1/players/{player}/tokens, or issued by the studio's identity provider",
  });
  app.doc31("/openapi.json", { openapi: "3.1.0", info: { title: "Edgeboard API", version: "0.1.0" } });
  return app;
}
