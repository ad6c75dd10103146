CREATE TABLE "object_repairs" (
	"board_id" text NOT NULL,
	"period_key" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"error" text NOT NULL,
	CONSTRAINT "object_repairs_pkey" PRIMARY KEY("board_id","period_key")
);
--> statement-breakpoint
CREATE TABLE "score_rejections" (
	"event_id" text PRIMARY KEY NOT NULL,
	"board_id" text NOT NULL,
	"player_id" text NOT NULL,
	"code" text NOT NULL,
	"score" bigint,
	"rejected_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "boards" ADD COLUMN "score_overflow" text DEFAULT 'reject' NOT NULL;--> statement-breakpoint
ALTER TABLE "ingest_stats" ADD COLUMN "out_of_range" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "score_rejections_rejected_idx" ON "score_rejections" USING btree ("rejected_at");--> statement-breakpoint
ALTER TABLE "boards" ADD CONSTRAINT "boards_score_overflow_valid" CHECK ("boards"."score_overflow" in ('reject', 'clamp'));--> statement-breakpoint
-- Hand-added: records an unbounded increment already took out of range (past the safe integers,
-- or the board's own bounds) are brought back to the bound, one version on, and their
-- board-periods queued for the cron to reload the Durable Object and Redis; then the constraint
-- that keeps them in range is added without holding writes for a full-table scan.
WITH repaired AS (
  UPDATE "scores" s SET
    "score" = x.score,
    "sort_score" = CASE WHEN x.sort_order = 'desc' THEN -x.score ELSE x.score END,
    "version" = s.version + 1,
    "updated_at" = now()
  FROM (
    SELECT o.board_id, o.period_key, o.player_id, b.sort_order,
           least(greatest(o.score::numeric, coalesce(b.min_score, -9007199254740991)), coalesce(b.max_score, 9007199254740991))::bigint AS score
    FROM "scores" o JOIN "boards" b ON b.id = o.board_id
    WHERE o.score::numeric NOT BETWEEN coalesce(b.min_score, -9007199254740991) AND coalesce(b.max_score, 9007199254740991)
       OR o.sort_score NOT BETWEEN -9007199254740991 AND 9007199254740991
  ) x
  WHERE s.board_id = x.board_id AND s.period_key = x.period_key AND s.player_id = x.player_id
  RETURNING s.board_id, s.period_key
),
redis AS (
  INSERT INTO "rank_resync" (board_id, period_key) SELECT DISTINCT board_id, period_key FROM repaired
  ON CONFLICT (board_id, period_key) DO UPDATE SET requested_at = now()
)
INSERT INTO "object_repairs" (board_id, period_key, error)
SELECT DISTINCT board_id, period_key, 'migration 0008 brought out-of-range records back into bounds' FROM repaired
ON CONFLICT (board_id, period_key) DO UPDATE SET requested_at = now(), error = excluded.error;
--> statement-breakpoint
ALTER TABLE "scores" ADD CONSTRAINT "scores_score_safe" CHECK ("scores"."score" between -9007199254740991 and 9007199254740991 and "scores"."sort_score" between -9007199254740991 and 9007199254740991) NOT VALID;--> statement-breakpoint
ALTER TABLE "scores" VALIDATE CONSTRAINT "scores_score_safe";