import { sql } from "drizzle-orm";
import {
  bigint,
  date,
  index,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * Every accepted event, partitioned by month on received_at (see the migration: drizzle-kit does
 * not model partitioning, so the generated CREATE TABLE was edited to add PARTITION BY RANGE).
 * A unique key on a partitioned table must include the partition key, so event ids are made unique
 * across partitions by `event_ids` below, not by this table.
 */
export const events = pgTable(
  "events",
  {
    eventId: text("event_id").notNull(),
    receivedAt: timestamp("received_at", {
      withTimezone: true,
      mode: "date",
      precision: 3,
    }).notNull(),
    occurredAt: timestamp("occurred_at", {
      withTimezone: true,
      mode: "date",
      precision: 3,
    }).notNull(),
    type: text("type").notNull(),
    playerId: text("player_id").notNull(),
    boardId: text("board_id"),
    tournamentId: text("tournament_id"),
    score: bigint("score", { mode: "number" }),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    payload: jsonb("payload").$type<Record<string, unknown>>(),
    /**
     * When the row was written (Postgres' clock, per row). received_at does not say it: a queue
     * backlog, a retry or a DLQ replay stores an event long after the edge received it, so the
     * rollup job folds events in this order instead (rollup_progress). Null for rows stored before
     * the column existed: their received_at stands in (ROLLUP_STAMP).
     */
    storedAt: timestamp("stored_at", { withTimezone: true, mode: "date" }).default(
      sql`clock_timestamp()`,
    ),
  },
  (t) => [
    primaryKey({ name: "events_pkey", columns: [t.eventId, t.receivedAt] }),
    // Serves: retention scans (time ranges of one partition). BRIN, not
    // btree: received_at grows with insertion order, so a few bytes per block range describe it
    // and an insert costs almost nothing, where a btree adds an index entry per event to every
    // batch. (No per-player index: nothing reads a player's raw history yet, and every index is
    // paid on the hottest write path.)
    index("events_received_brin").using("brin", t.receivedAt),
    // Serves: the rollup job's steps, ranges of the stamp it folds events by. BRIN for the same
    // reason: rows are appended in stamp order.
    index("events_stamp_brin").using("brin", sql`coalesce(${t.storedAt}, ${t.receivedAt})`),
  ],
);

/**
 * Idempotency keys of accepted events, partitioned by the UTC day of the event's occurredAt (see
 * migration 0012: drizzle-kit does not model partitioning). A unique key on a partitioned table
 * must include the partition key, so the key is (event_id, occurred_day): a retry carries the same
 * body, hence the same occurredAt and day, and meets its first delivery in the same partition. The
 * consumer inserts here with ON CONFLICT DO NOTHING and lets only the ids that were new move a
 * score, in the same statement. The daily upkeep creates the days ahead and drops whole days past
 * IDEMPOTENCY_WINDOW_DAYS (src/domain/retention.ts), which the consumer never writes to.
 */
export const eventIds = pgTable(
  "event_ids",
  {
    eventId: text("event_id").notNull(),
    occurredDay: date("occurred_day", { mode: "string" }).notNull(),
  },
  (t) => [primaryKey({ name: "event_ids_pkey", columns: [t.eventId, t.occurredDay] })],
);

/** Messages that exhausted their retries, with the last error, for GET /v1/admin/dlq and replay. */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** The queue the message died on, and the queue message id (unique per queue). */
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    body: jsonb("body").notNull(),
    error: text("error").notNull(),
    attempts: bigint("attempts", { mode: "number" }).notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" })
      .notNull()
      .defaultNow(),
    replayedAt: timestamp("replayed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    // Serves: the DLQ listing of messages not yet replayed, oldest first.
    index("dead_letters_pending_idx").on(t.receivedAt).where(sql`${t.replayedAt} is null`),
    // One pending letter per message: a message dead-lettered again before a replay (a retried
    // batch that isolates the same poison event) is recorded once.
    uniqueIndex("dead_letters_pending_message_idx")
      .on(t.queue, t.messageId)
      .where(sql`${t.replayedAt} is null`),
    index("dead_letters_message_idx").on(t.queue, t.messageId),
  ],
);

/**
 * Ingestion counters per hour and queue, upserted by the consumer in the same statement as the
 * batch (no extra round trip). accepted = persisted + duplicates; lag is received → committed.
 */
export const ingestStats = pgTable(
  "ingest_stats",
  {
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    queue: text("queue").notNull(),
    /**
     * Counters are spread over a few rows per hour so that the parallel statements of one batch
     * (and concurrent consumers) do not queue behind a single row lock; readers sum the shards.
     */
    shard: smallint("shard").notNull().default(0),
    persisted: bigint("persisted", { mode: "number" }).notNull().default(0),
    duplicates: bigint("duplicates", { mode: "number" }).notNull().default(0),
    /** Items refused by POST /v1/events validation (reported through the analytics queue). */
    rejected: bigint("rejected", { mode: "number" }).notNull().default(0),
    /**
     * Accepted events the batch statement refused because they would take a record out of its
     * board's bounds.
     */
    outOfRange: bigint("out_of_range", { mode: "number" }).notNull().default(0),
    batches: bigint("batches", { mode: "number" }).notNull().default(0),
    lagMsTotal: bigint("lag_ms_total", { mode: "number" }).notNull().default(0),
    lagMsMax: bigint("lag_ms_max", { mode: "number" }).notNull().default(0),
    lastBatchAt: timestamp("last_batch_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [primaryKey({ name: "ingest_stats_pkey", columns: [t.hour, t.queue, t.shard] })],
);
