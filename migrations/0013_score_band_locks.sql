-- Hand-written: the band counts' lock per board-period instead of one for the whole database.
-- 0006 took pg_advisory_xact_lock(hashtext('edgeboard.score_buckets')) in every band-moving
-- statement, until its commit: every score batch waited for every other, whatever boards they
-- wrote. The lock exists because one statement fires several band triggers (an INSERT ... ON
-- CONFLICT fires the insert and the update trigger; the batch statement has one upsert per
-- operator), each upserting its own band rows: two statements could take the same band rows in
-- different orders and deadlock. Now each trigger locks the board-periods it counts, in the order
-- of their lock keys, and the batch statement (persist-batch.ts) locks every board-period it moved,
-- in that same order, after its upserts and before its triggers fire: a statement then never takes
-- a band lock out of order, so concurrent batches cannot deadlock, and batches of unrelated
-- board-periods never wait for each other. Locks are taken after a statement's row locks, as
-- before, so no cycle through the scores rows either.
CREATE OR REPLACE FUNCTION score_band_lock_key(board_id text, period_key text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT hashtextextended('edgeboard.score_buckets/' || board_id || '/' || period_key, 0)
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION score_buckets_track() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    -- Most updates move a score inside its band: nothing to count, no lock to take.
    IF NOT EXISTS (
      SELECT 1 FROM (
        SELECT board_id, period_key, score_bucket(sort_score) AS bucket, 1 AS delta FROM new_rows
        UNION ALL
        SELECT board_id, period_key, score_bucket(sort_score), -1 FROM old_rows
      ) d GROUP BY board_id, period_key, bucket HAVING sum(delta) <> 0
    ) THEN RETURN NULL; END IF;
  ELSE
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
  END IF;
  -- One writer of a board-period's counts at a time, until its commit; locks in key order.
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_advisory_xact_lock(k) FROM (
      SELECT DISTINCT score_band_lock_key(board_id, period_key) AS k FROM new_rows ORDER BY 1
    ) l;
    INSERT INTO score_buckets AS b (board_id, period_key, bucket, records)
    SELECT board_id, period_key, score_bucket(sort_score), count(*) FROM new_rows
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (board_id, period_key, bucket) DO UPDATE SET records = b.records + excluded.records;
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM pg_advisory_xact_lock(k) FROM (
      SELECT DISTINCT score_band_lock_key(board_id, period_key) AS k FROM (
        SELECT board_id, period_key FROM new_rows UNION SELECT board_id, period_key FROM old_rows
      ) u ORDER BY 1
    ) l;
    INSERT INTO score_buckets AS b (board_id, period_key, bucket, records)
    SELECT board_id, period_key, bucket, sum(delta) FROM (
      SELECT board_id, period_key, score_bucket(sort_score) AS bucket, 1 AS delta FROM new_rows
      UNION ALL
      SELECT board_id, period_key, score_bucket(sort_score), -1 FROM old_rows
    ) d GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (board_id, period_key, bucket) DO UPDATE SET records = b.records + excluded.records;
  ELSE
    PERFORM pg_advisory_xact_lock(k) FROM (
      SELECT DISTINCT score_band_lock_key(board_id, period_key) AS k FROM old_rows ORDER BY 1
    ) l;
    INSERT INTO score_buckets AS b (board_id, period_key, bucket, records)
    SELECT board_id, period_key, score_bucket(sort_score), -count(*) FROM old_rows
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (board_id, period_key, bucket) DO UPDATE SET records = b.records + excluded.records;
  END IF;
  RETURN NULL;
END $$;
