import { sql } from "drizzle-orm";
import type { Database } from "../../stores/postgres/client";

/** Ingestion counters over the last `hours`, per queue, plus DLQ depth and consumer lag. */
export async function readIngestStats(db: Database, hours: number) {
  const [perQueue, pending, refusals] = await Promise.all([
    db.execute<{
      queue: string;
      persisted: string;
      duplicates: string;
      rejected: string;
      out_of_range: string;
      batches: string;
      lag_ms_total: string;
      lag_ms_max: string;
      last_batch_at: string | null;
    }>(sql`
      select queue, sum(persisted) as persisted, sum(duplicates) as duplicates,
             sum(rejected) as rejected, sum(out_of_range) as out_of_range, sum(batches) as batches,
             sum(lag_ms_total) as lag_ms_total, max(lag_ms_max) as lag_ms_max,
             max(last_batch_at) as last_batch_at
      from ingest_stats
      where hour >= date_trunc('hour', now()) - make_interval(hours => ${hours - 1})
      group by queue order by queue`),
    db.execute<{ n: string }>(
      sql`select count(*) as n from dead_letters where replayed_at is null`,
    ),
    db.execute<{
      event_id: string;
      board_id: string;
      player_id: string;
      code: string;
      score: string | null;
      rejected_at: string;
    }>(
      sql`select event_id, board_id, player_id, code, score, rejected_at from score_rejections
        order by rejected_at desc limit 20`,
    ),
  ]);
  const queues = perQueue.rows.map((r) => {
    const persisted = Number(r.persisted);
    const duplicates = Number(r.duplicates);
    const batches = Number(r.batches);
    return {
      queue: r.queue,
      persisted,
      duplicates,
      rejected: Number(r.rejected),
      outOfRange: Number(r.out_of_range),
      accepted: persisted + duplicates,
      batches,
      avgBatchSize: batches ? Math.round(((persisted + duplicates) / batches) * 10) / 10 : 0,
      lagMsAvg: persisted ? Math.round(Number(r.lag_ms_total) / persisted) : 0,
      lagMsMax: Number(r.lag_ms_max),
      lastBatchAt: r.last_batch_at ? new Date(r.last_batch_at).toISOString() : null,
    };
  });
  const last = queues
    .map((q) => (q.lastBatchAt ? Date.parse(q.lastBatchAt) : 0))
    .reduce((a, b) => Math.max(a, b), 0);
  return {
    windowHours: hours,
    queues,
    deadLettersPending: Number(pending.rows[0]?.n ?? 0),
    recentRefusals: refusals.rows.map((r) => ({
      eventId: r.event_id,
      boardId: r.board_id,
      playerId: r.player_id,
      code: r.code,
      score: r.score === null ? null : Number(r.score),
      at: new Date(r.rejected_at).toISOString(),
    })),
    consumerLagMs: last ? Date.now() - last : null,
  };
}
