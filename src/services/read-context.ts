import type { AppBindings } from "../env";
import { queryDatabase } from "../stores/postgres/client";
import { openRedis } from "../stores/redis/client";
import type { ReadContext } from "./leaderboards/reads";

/**
 * The stores a read may use. Queries go over Neon's HTTP endpoint, so there is no session to open
 * or close, and nothing in it that must not outlive a request: cache refreshes that run after the
 * response use it as the request itself does.
 */
export function readContext(env: AppBindings): ReadContext {
  return { env, redis: openRedis(env), db: () => queryDatabase(env) };
}
