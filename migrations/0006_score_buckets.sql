CREATE TABLE "score_buckets" (
	"board_id" text NOT NULL,
	"period_key" text NOT NULL,
	"bucket" bigint NOT NULL,
	"records" bigint NOT NULL,
	CONSTRAINT "score_buckets_pkey" PRIMARY KEY("board_id","period_key","bucket")
);
--> statement-breakpoint
-- The band of a sort_score (see src/db/schema/score-buckets.ts): |s| < 128 is its own band; above,
-- each power of two [2^e, 2^(e+1)) is cut into 64 bands by the six bits after the leading one.
-- Negative scores mirror the positive bands, so bands ascend with scores. Plain SQL expressions
-- (no STRICT, no plpgsql) so the planner inlines them: the triggers call this twice per row written.
CREATE FUNCTION score_band_exponent(v bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  -- floor(log2 v) for v >= 1: the float estimate is off by at most one near a power of two,
  -- settled by exact shifts (kept below 1 << 63, which overflows).
  SELECT CASE WHEN v >= 4611686018427387904 THEN 62 ELSE
    least(floor(ln(v::float8) / ln(2::float8))::integer, 61)
    + (v >= (1::bigint << (least(floor(ln(v::float8) / ln(2::float8))::integer, 61) + 1)))::integer
    - (v < (1::bigint << least(floor(ln(v::float8) / ln(2::float8))::integer, 61)))::integer
  END
$$;
--> statement-breakpoint
CREATE FUNCTION score_band(v bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v < 128 THEN v
              ELSE 128 + (score_band_exponent(v) - 7) * 64 + ((v >> (score_band_exponent(v) - 6)) - 64) END
$$;
--> statement-breakpoint
CREATE FUNCTION score_bucket(sort_score bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN sort_score = -9223372036854775808 THEN -3712
              WHEN sort_score < 0 THEN -score_band(-sort_score)
              ELSE score_band(sort_score) END
$$;
--> statement-breakpoint
-- The smallest |sort_score| in positive band `band`.
CREATE FUNCTION score_band_min(band bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN band < 128 THEN band::numeric
              ELSE (64 + mod(band - 128, 64)) * 2::numeric ^ (1 + div(band - 128, 64)) END
$$;
--> statement-breakpoint
-- The smallest sort_score in a band: where the index range inside the band starts.
CREATE FUNCTION score_bucket_floor(bucket bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN bucket >= 0 THEN score_band_min(bucket)
              ELSE greatest(1 - score_band_min(1 - bucket), -9223372036854775808::numeric) END::bigint
$$;
--> statement-breakpoint
-- Keeps score_buckets equal to the band counts of scores, per statement (one grouped upsert per
-- write, whatever its size), in the writer's transaction.
CREATE FUNCTION score_buckets_track() RETURNS trigger
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
  -- One writer of counts at a time, until its commit. Two statements adding to the same bands in
  -- different orders (an INSERT ... ON CONFLICT fires both the insert and the update trigger)
  -- would deadlock; the wait is one grouped upsert and a commit.
  PERFORM pg_advisory_xact_lock(hashtext('edgeboard.score_buckets'));
  IF TG_OP = 'INSERT' THEN
    INSERT INTO score_buckets AS b (board_id, period_key, bucket, records)
    SELECT board_id, period_key, score_bucket(sort_score), count(*) FROM new_rows
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (board_id, period_key, bucket) DO UPDATE SET records = b.records + excluded.records;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO score_buckets AS b (board_id, period_key, bucket, records)
    SELECT board_id, period_key, bucket, sum(delta) FROM (
      SELECT board_id, period_key, score_bucket(sort_score) AS bucket, 1 AS delta FROM new_rows
      UNION ALL
      SELECT board_id, period_key, score_bucket(sort_score), -1 FROM old_rows
    ) d GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (board_id, period_key, bucket) DO UPDATE SET records = b.records + excluded.records;
  ELSE
    INSERT INTO score_buckets AS b (board_id, period_key, bucket, records)
    SELECT board_id, period_key, score_bucket(sort_score), -count(*) FROM old_rows
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (board_id, period_key, bucket) DO UPDATE SET records = b.records + excluded.records;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION score_buckets_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE score_buckets;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Writes wait until this migration commits, so the counts start exact.
LOCK TABLE scores IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
INSERT INTO score_buckets (board_id, period_key, bucket, records)
SELECT board_id, period_key, score_bucket(sort_score), count(*) FROM scores GROUP BY 1, 2, 3;
--> statement-breakpoint
CREATE TRIGGER scores_buckets_insert AFTER INSERT ON scores
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION score_buckets_track();
--> statement-breakpoint
CREATE TRIGGER scores_buckets_update AFTER UPDATE ON scores
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION score_buckets_track();
--> statement-breakpoint
CREATE TRIGGER scores_buckets_delete AFTER DELETE ON scores
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION score_buckets_track();
--> statement-breakpoint
CREATE TRIGGER scores_buckets_truncate AFTER TRUNCATE ON scores
  FOR EACH STATEMENT EXECUTE FUNCTION score_buckets_clear();
