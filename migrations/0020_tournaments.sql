CREATE TABLE "prizes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "prizes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tournament_id" text NOT NULL,
	"instance_key" text NOT NULL,
	"player_id" text NOT NULL,
	"rank" integer NOT NULL,
	"reward" jsonb NOT NULL,
	"awarded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tournament_attempts" (
	"tournament_id" text NOT NULL,
	"instance_key" text NOT NULL,
	"player_id" text NOT NULL,
	"event_id" text NOT NULL,
	"used_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tournament_attempts_tournament_id_instance_key_player_id_event_id_pk" PRIMARY KEY("tournament_id","instance_key","player_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "tournament_entries" (
	"tournament_id" text NOT NULL,
	"instance_key" text NOT NULL,
	"player_id" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"extra_attempts" integer DEFAULT 0 NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tournament_entries_tournament_id_instance_key_player_id_pk" PRIMARY KEY("tournament_id","instance_key","player_id")
);
--> statement-breakpoint
CREATE TABLE "tournament_finalisations" (
	"tournament_id" text NOT NULL,
	"instance_key" text NOT NULL,
	"board_id" text NOT NULL,
	"players" integer NOT NULL,
	"finalised_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tournament_finalisations_tournament_id_instance_key_pk" PRIMARY KEY("tournament_id","instance_key")
);
--> statement-breakpoint
CREATE TABLE "tournament_instances" (
	"tournament_id" text NOT NULL,
	"instance_key" text NOT NULL,
	"players" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "tournament_instances_tournament_id_instance_key_pk" PRIMARY KEY("tournament_id","instance_key")
);
--> statement-breakpoint
CREATE TABLE "tournament_standings" (
	"tournament_id" text NOT NULL,
	"instance_key" text NOT NULL,
	"rank" integer NOT NULL,
	"player_id" text NOT NULL,
	"display_name" text,
	"score" bigint NOT NULL,
	"reached_at" timestamp (3) with time zone NOT NULL,
	"metadata" jsonb,
	CONSTRAINT "tournament_standings_tournament_id_instance_key_rank_pk" PRIMARY KEY("tournament_id","instance_key","rank")
);
--> statement-breakpoint
CREATE TABLE "tournaments" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"board_id" text NOT NULL,
	"starts_at" timestamp (3) with time zone NOT NULL,
	"ends_at" timestamp (3) with time zone,
	"schedule" jsonb,
	"max_players" integer,
	"join_required" boolean DEFAULT false NOT NULL,
	"max_attempts" integer,
	"prizes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tournaments_board_id_unique" UNIQUE("board_id"),
	CONSTRAINT "tournaments_window" CHECK ("tournaments"."ends_at" is null or "tournaments"."ends_at" > "tournaments"."starts_at"),
	CONSTRAINT "tournaments_max_players" CHECK ("tournaments"."max_players" is null or "tournaments"."max_players" > 0),
	CONSTRAINT "tournaments_max_attempts" CHECK ("tournaments"."max_attempts" is null or "tournaments"."max_attempts" > 0)
);
--> statement-breakpoint
ALTER TABLE "tournament_instances" ADD CONSTRAINT "tournament_instances_tournament_id_tournaments_id_fk" FOREIGN KEY ("tournament_id") REFERENCES "public"."tournaments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "prizes_award_idx" ON "prizes" USING btree ("tournament_id","instance_key","player_id");--> statement-breakpoint
CREATE INDEX "prizes_pending_idx" ON "prizes" USING btree ("player_id","id") WHERE "prizes"."claimed_at" is null;--> statement-breakpoint
CREATE INDEX "prizes_player_idx" ON "prizes" USING btree ("player_id","id");--> statement-breakpoint
CREATE INDEX "tournament_entries_player_idx" ON "tournament_entries" USING btree ("player_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tournament_finalisations_board_idx" ON "tournament_finalisations" USING btree ("board_id","instance_key");--> statement-breakpoint
CREATE INDEX "tournaments_window_idx" ON "tournaments" USING btree ("starts_at","ends_at");