CREATE TABLE "ingest_stats" (
	"hour" timestamp with time zone NOT NULL,
	"queue" text NOT NULL,
	"persisted" bigint DEFAULT 0 NOT NULL,
	"duplicates" bigint DEFAULT 0 NOT NULL,
	"rejected" bigint DEFAULT 0 NOT NULL,
	"batches" bigint DEFAULT 0 NOT NULL,
	"lag_ms_total" bigint DEFAULT 0 NOT NULL,
	"lag_ms_max" bigint DEFAULT 0 NOT NULL,
	"last_batch_at" timestamp with time zone,
	CONSTRAINT "ingest_stats_pkey" PRIMARY KEY("hour","queue")
);
--> statement-breakpoint
ALTER TABLE "scores" ADD COLUMN "version" bigint DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Hand-added: player ids order by code point ("C"), the same order the Durable Object, Redis
-- (equal scores order by member bytes) and the domain code use, so every source ranks ties alike.
ALTER TABLE "scores" ALTER COLUMN "player_id" TYPE text COLLATE "C";
