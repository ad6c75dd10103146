CREATE TABLE "rank_reloads" (
	"board_id" text NOT NULL,
	"period_key" text NOT NULL,
	"build_token" text NOT NULL,
	"started_at" bigint NOT NULL,
	"after_sort_score" bigint,
	"after_reached_at" bigint,
	"after_player_id" text,
	"rows" integer DEFAULT 0 NOT NULL,
	"built_at" bigint,
	"holder" text NOT NULL,
	"lease_until" timestamp with time zone NOT NULL,
	CONSTRAINT "rank_reloads_pkey" PRIMARY KEY("board_id","period_key")
);
--> statement-breakpoint
ALTER TABLE "rank_resync" ADD COLUMN "since" timestamp with time zone;