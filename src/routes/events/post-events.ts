import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { ingestEvents } from "../../services/ingest/ingest";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { IngestRequestSchema, IngestResponseSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "event-write", rateLimit: "write" },
  method: "post",
  path: "/v1/events",
  tags: ["events"],
  summary: "Send one event or a batch; 202 once they are queued",
  description:
    "Each item is validated on its own: " +
    "valid items are accepted even when others in the batch are rejected. " +
    "Event ids make retries safe: " +
    "an id already accepted (within the idempotency window of 8 days) counts once.",
  request: {
    body: { required: true, content: { "application/json": { schema: IngestRequestSchema } } },
  },
  responses: {
    202: {
      description: "Queued; `rejected` lists refused items by index",
      content: { "application/json": { schema: IngestResponseSchema } },
    },
    ...errorResponses(400, 413, 415, 503),
  },
});

/**
 * The body is parsed by hand rather than by the route's validator: the batch must be judged per
 * item (202 with per-item errors), not refused whole for one bad event.
 */
export function registerPostEvents(app: OpenAPIHono<AppContext>): void {
  // Documented with its body, so clients see the event schema; registered without it, so no
  // validator refuses the whole batch for one bad item.
  const { middleware: _, ...documented } = route;
  app.openAPIRegistry.registerPath(documented);
  app.openapi({ ...route, request: {}, hide: true }, async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new ApiError(
        "BAD_REQUEST",
        'The body must be JSON: one event object, or {"events": [...]}',
      );
    }
    const items = extractItems(body);
    const max = Number(c.env.EVENTS_MAX_BATCH);
    if (items.length > max) {
      throw new ApiError(
        "PAYLOAD_TOO_LARGE",
        `A request may carry at most ${max} events (got ${items.length}); split the batch`,
        {
          limit: max,
        },
      );
    }
    const result = await ingestEvents(c.env, c.get("stores").db, items, c.get("caller"));
    return c.json(result, 202);
  });
}

function extractItems(body: unknown): unknown[] {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError("BAD_REQUEST", 'The body must be one event object, or {"events": [...]}');
  }
  if ("events" in body) {
    const events = (body as { events: unknown }).events;
    if (!Array.isArray(events))
      throw new ApiError("BAD_REQUEST", '"events" must be an array of events');
    if (events.length === 0)
      throw new ApiError("BAD_REQUEST", '"events" is empty; send at least one event');
    return events;
  }
  return [body];
}
