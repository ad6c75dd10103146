import type { Caller } from "../domain";
import type { AppBindings } from "../env";
import type { Database } from "../stores/postgres/client";

/** Per-request values placed on the Hono context by the init middleware. */
type AppVariables = {
  requestId: string;
  /** Opened lazily on first use and closed after the response (see stores/postgres/client.ts). */
  db: () => Database;
  /** Who is calling, set by the route's access guard (routes/access.ts). */
  caller: Caller;
};

export type AppContext = { Bindings: AppBindings; Variables: AppVariables };
