import { queryDatabase } from "../db/client";
import type { AppBindings } from "../env";
import type { ReadContext } from "./leaderboard-reads";
import { openRedis } from "./redis";

/**
 * The stores a read may use. Queries go over Neon's HTTP endpoint, so there is no session to open
 * or close, and nothing in it that must not outlive a request: cache refreshes that run after the
 * response use it as the request itself does.
 */
export function readContext(env: AppBindings): ReadContext {
  return { env, redis: openRedis(env), db: () => queryDatabase(env) };
}
