import type { Caller } from "../domain";
import type { AppBindings } from "../env";
import type { Database } from "../stores/postgres/client";

/** Per-request values placed on the Hono context by the init middleware. */
type AppVariables = {
  requestId: string;
  /** The isolate's HTTP query client (stores/postgres/client.ts queryDatabase): one round trip per query, nothing to close. */
  db: () => Database;
  /** Who is calling, set by the route's access guard (routes/access.ts). */
  caller: Caller;
};

export type AppContext = { Bindings: AppBindings; Variables: AppVariables };
