import type { Context } from "hono";
import type { ModerationContext } from "../../services/moderation/actions";
import { type AppContext, workersCache } from "../context";

/** What a moderation action takes from the request: stores, caller, cache, waitUntil. */
export function moderationContext(c: Context<AppContext>): ModerationContext {
  return {
    stores: c.get("stores"),
    caller: c.get("caller"),
    cache: workersCache(c),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
}
