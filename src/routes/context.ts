import type { Caller } from "../domain";
import type { AppBindings } from "../env";
import type { Stores } from "../stores";

/** Per-request values placed on the Hono context by the init middleware. */
type AppVariables = {
  requestId: string;
  /** The stores every route reaches Postgres, Redis and the Durable Objects through. */
  stores: Stores;
  /** Who is calling, set by the route's access guard (routes/access.ts). */
  caller: Caller;
};

export type AppContext = { Bindings: AppBindings; Variables: AppVariables };

/**
 * Workers Cache (the fetch handler's ctx.cache) when the Worker runs behind it: Hono's own type
 * of the execution context does not declare it.
 */
export function workersCache(c: { executionCtx: unknown }): CacheContext | undefined {
  return (c.executionCtx as ExecutionContext).cache;
}
