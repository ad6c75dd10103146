import { DurableObject } from "cloudflare:workers";
import type { AppBindings } from "../env";

/**
 * One object per (board, period key): the single writer of that board-period's hot top-N. Its
 * state lives in the object's SQLite storage so an evicted object comes back without Postgres.
 * The serving issue adds the batch-apply, page and rebuild RPC methods and live subscriptions.
 */
export class LeaderboardDO extends DurableObject<AppBindings> {
  constructor(ctx: DurableObjectState, env: AppBindings) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(
        `create table if not exists entries (
           player_id text primary key,
           score integer not null,
           reached_at integer not null
         )`,
      );
    });
  }
}
