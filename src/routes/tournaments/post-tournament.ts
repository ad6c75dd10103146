import type { OpenAPIHono } from "@hono/zod-openapi";
import { describeError, log } from "../../lib/log";
import { createTournament, tournamentView } from "../../services/tournaments/definitions";
import { tournamentClockStub } from "../../stores/objects/tournament-clock";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { CreateTournamentSchema, TournamentSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "tournaments:admin", rateLimit: "admin" },
  method: "post",
  path: "/v1/admin/tournaments",
  tags: ["admin", "tournaments"],
  summary: "Create a tournament (one-off or recurring), with its prize brackets",
  request: {
    body: { required: true, content: { "application/json": { schema: CreateTournamentSchema } } },
  },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: TournamentSchema } } },
    ...errorResponses(400, 409),
  },
});

export function registerPostTournament(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const tournament = await createTournament(c.get("stores").db(), c.req.valid("json"));
    // The clock's alarm finalises each instance as it ends; if arming fails the cron does it.
    c.executionCtx.waitUntil(
      tournamentClockStub(c.env, tournament.id)
        .arm(tournament.id)
        .catch((error: unknown) =>
          log.warn("tournaments: clock not armed; the cron finalises instead", {
            error: describeError(error),
          }),
        ),
    );
    return c.json(tournamentView(tournament, Date.now()), 201);
  });
}
