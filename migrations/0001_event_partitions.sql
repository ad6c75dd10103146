-- Monthly partitions of "events" (UTC months of received_at).
-- ensure_event_partitions() creates the previous month, the current one and `months_ahead` more;
-- the daily cron calls it, so inserts never wait for DDL. A DEFAULT partition catches anything
-- outside them (only possible if the cron stopped for months) so an accepted event is never lost.
CREATE TABLE IF NOT EXISTS "events_default" PARTITION OF "events" DEFAULT;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ensure_event_partitions(months_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  month_start timestamp;
  partition_name text;
  created integer := 0;
BEGIN
  FOR i IN -1..months_ahead LOOP
    month_start := date_trunc('month', (now() AT TIME ZONE 'UTC')) + make_interval(months => i);
    partition_name := 'events_' || to_char(month_start, 'YYYY_MM');
    IF to_regclass(partition_name) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
        partition_name,
        month_start AT TIME ZONE 'UTC',
        (month_start + interval '1 month') AT TIME ZONE 'UTC'
      );
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END;
$$;
--> statement-breakpoint
-- Drops whole monthly partitions that end before `cutoff` (the retention window); cheap, unlike
-- DELETE. Returns the names dropped.
CREATE OR REPLACE FUNCTION drop_event_partitions_before(cutoff timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
  part record;
  month_start timestamptz;
BEGIN
  FOR part IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = 'events' AND c.relname ~ '^events_[0-9]{4}_[0-9]{2}$'
  LOOP
    month_start := to_date(substr(part.relname, 8), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC';
    IF month_start + interval '1 month' <= cutoff THEN
      EXECUTE format('DROP TABLE %I', part.relname);
      RETURN NEXT part.relname;
    END IF;
  END LOOP;
END;
$$;
--> statement-breakpoint
SELECT ensure_event_partitions(3);
