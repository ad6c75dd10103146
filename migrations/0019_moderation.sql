CREATE TABLE "held_scores" (
	"board_id" text NOT NULL,
	"period_key" text NOT NULL,
	"player_id" text NOT NULL,
	"score" bigint NOT NULL,
	"sort_score" bigint NOT NULL,
	"reached_at" timestamp (3) with time zone NOT NULL,
	"metadata" jsonb,
	"version" bigint NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"held_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "held_scores_pkey" PRIMARY KEY("board_id","period_key","player_id")
);
--> statement-breakpoint
CREATE TABLE "moderation_audit" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"player_id" text NOT NULL,
	"board_id" text,
	"period_key" text,
	"reason" text,
	"records" integer NOT NULL,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "player_bans" (
	"player_id" text PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"banned_by" text NOT NULL,
	"banned_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "score_tombstones" (
	"board_id" text NOT NULL,
	"period_key" text NOT NULL,
	"player_id" text NOT NULL,
	"version" bigint NOT NULL,
	"removed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "score_tombstones_pkey" PRIMARY KEY("board_id","period_key","player_id")
);
--> statement-breakpoint
CREATE INDEX "held_scores_player_idx" ON "held_scores" USING btree ("player_id");--> statement-breakpoint
CREATE INDEX "moderation_audit_player_idx" ON "moderation_audit" USING btree ("player_id","id");