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
