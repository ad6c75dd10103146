import { sql } from "drizzle-orm";
import type { Database } from "../db/client";

/** Adds POST /v1/events rejections to the hour's counters (they never reach the event tables). */
export async function recordRejected(db: Database, queue: string, count: number): Promise<void> {
  await db.execute(sql`
    insert into ingest_stats as st (hour, queue, rejected)
    values (date_trunc('hour', now()), ${queue}, ${count})
    on conflict (hour, queue) do update set rejected = st.rejected + excluded.rejected`);
}
