-- Hand-written (drizzle-kit does not model partitioning; its snapshot has the columns and key).
-- event_ids becomes daily partitions of the UTC day of the event's occurredAt, dropped whole by the
-- daily upkeep instead of pruned row by row. A unique key on a partitioned table must include the
-- partition key: the key is (event_id, occurred_day). A retry of an event (a queue redelivery, a
-- client resending its request, a DLQ replay) carries the same body, hence the same occurredAt and
-- the same day, so it meets its first delivery in the same partition: dedupe stays exact. The
-- received time would not do: a client's retry is a new request with a new one. See docs/design.md
-- ("Idempotency keys").
-- The rename locks the old table until this migration commits: no id is accepted meanwhile.
ALTER TABLE "event_ids" RENAME TO "event_ids_legacy";
--> statement-breakpoint
ALTER TABLE "event_ids_legacy" RENAME CONSTRAINT "event_ids_pkey" TO "event_ids_legacy_pkey";
--> statement-breakpoint
CREATE TABLE "event_ids" (
	"event_id" text NOT NULL,
	"occurred_day" date NOT NULL,
	CONSTRAINT "event_ids_pkey" PRIMARY KEY("event_id","occurred_day")
) PARTITION BY RANGE ("occurred_day");
--> statement-breakpoint
-- Creates the day partitions from_day..to_day that do not exist yet (event_ids_YYYYMMDD) and
-- returns how many it created. The daily upkeep calls it for the whole window and a week ahead, so
-- an insert never waits for DDL. No DEFAULT partition: a day with no partition is either past the
-- window (the consumer refuses such events before writing) or more than a week ahead (the upkeep
-- has not run for a week): the insert then fails and the batch is retried, never deduplicated
-- against a partition that was dropped. One caller at a time (concurrent upkeep runs).
CREATE OR REPLACE FUNCTION ensure_event_id_partitions(from_day date, to_day date)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  day date := from_day;
  partition_name text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('edgeboard.event_id_partitions'));
  WHILE day <= to_day LOOP
    partition_name := 'event_ids_' || to_char(day, 'YYYYMMDD');
    IF to_regclass(partition_name) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF event_ids FOR VALUES FROM (%L) TO (%L)',
        partition_name, day, day + 1
      );
      created := created + 1;
    END IF;
    day := day + 1;
  END LOOP;
  RETURN created;
END;
$$;
--> statement-breakpoint
-- Drops whole day partitions of days before `cutoff` (DROP TABLE: no dead rows, no vacuum, unlike
-- DELETE). Returns the names dropped.
CREATE OR REPLACE FUNCTION drop_event_id_partitions_before(cutoff date)
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
  part record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('edgeboard.event_id_partitions'));
  FOR part IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = 'event_ids' AND c.relname ~ '^event_ids_[0-9]{8}$'
    ORDER BY c.relname
  LOOP
    IF to_date(substr(part.relname, 11), 'YYYYMMDD') < cutoff THEN
      EXECUTE format('DROP TABLE %I', part.relname);
      RETURN NEXT part.relname;
    END IF;
  END LOOP;
END;
$$;
--> statement-breakpoint
-- The window (IDEMPOTENCY_WINDOW_DAYS = 10, src/domain/retention.ts) and a week ahead.
SELECT ensure_event_id_partitions(
  (now() AT TIME ZONE 'UTC')::date - 10, (now() AT TIME ZONE 'UTC')::date + 7);
--> statement-breakpoint
-- Existing ids inside the window, under their event's occurred day (the event row has it; an id
-- without one, which the batch statement never leaves, takes its received day).
INSERT INTO "event_ids" ("event_id", "occurred_day")
SELECT d.event_id, d.day
FROM (
  SELECT l.event_id, (coalesce(e.occurred_at, l.received_at) AT TIME ZONE 'UTC')::date AS day
  FROM "event_ids_legacy" l
  LEFT JOIN "events" e ON e.event_id = l.event_id AND e.received_at = l.received_at
) d
WHERE d.day >= (now() AT TIME ZONE 'UTC')::date - 10
  AND d.day <= (now() AT TIME ZONE 'UTC')::date + 7
ON CONFLICT DO NOTHING;
--> statement-breakpoint
DROP TABLE "event_ids_legacy";
