-- The band of a sort_score, and where that band starts, for queries that count records (ranks,
-- rank-of, cursor pages): the same values as score_bucket(v) and score_bucket_floor(score_bucket(v))
-- (0006_score_buckets.sql), in plpgsql so the planner does not inline them. Those SQL functions are
-- inlined on purpose where they run per row (the triggers), but a rank query calls them on one
-- value, and inlining their expression trees at every mention cost ~1-2 ms of planning per query
-- (EXPLAIN ANALYZE on 1M records), more than the count itself; every query over Neon's HTTP
-- endpoint is planned afresh. pgbench, 4 clients, the player-rank query: 1,150-1,290 lookups/s
-- inlined, 2,500-2,860 with these.
CREATE FUNCTION score_bucket_of(sort_score bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  RETURN score_bucket(sort_score);
END
$$;
--> statement-breakpoint
CREATE FUNCTION score_bucket_start_of(sort_score bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  RETURN score_bucket_floor(score_bucket(sort_score));
END
$$;
