import { type DatabaseHandle, openDatabase } from "../db/client";
import type { AppBindings } from "../env";
import { count } from "../lib/metrics";
import type { ReadContext } from "./leaderboard-reads";
import { openRedis } from "./redis";

/**
 * A read context whose database handle opens on first use and is closed when `fn` is done. Used
 * by cache refreshes that run after the response (the request's own handle is closed by then).
 */
export async function withReadContext<T>(env: AppBindings, fn: (ctx: ReadContext) => Promise<T>): Promise<T> {
  let handle: DatabaseHandle | undefined;
  const ctx: ReadContext = {
    env,
    redis: openRedis(env),
    db: () => {
      if (!handle) {
        count("postgresConnections");
        handle = openDatabase(env);
      }
      return handle.db;
    },
  };
  try {
    return await fn(ctx);
  } finally {
    await handle?.close();
  }
}
