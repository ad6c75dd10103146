ALTER TABLE "scores" DROP CONSTRAINT "scores_board_id_boards_id_fk";
--> statement-breakpoint
DROP INDEX "events_player_idx";--> statement-breakpoint
DROP INDEX "events_received_type_idx";--> statement-breakpoint
ALTER TABLE "ingest_stats" ADD COLUMN "shard" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "events_received_brin" ON "events" USING brin ("received_at");--> statement-breakpoint
ALTER TABLE "ingest_stats" DROP CONSTRAINT "ingest_stats_pkey";
--> statement-breakpoint
ALTER TABLE "ingest_stats" ADD CONSTRAINT "ingest_stats_pkey" PRIMARY KEY("hour","queue","shard");