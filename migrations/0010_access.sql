CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"signing_key" text NOT NULL,
	"name" text NOT NULL,
	"scopes" text[] NOT NULL,
	"require_signature" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_prefix_key" UNIQUE("prefix"),
	CONSTRAINT "api_keys_scopes_valid" CHECK ("api_keys"."scopes" <@ array['events:write','scores:write-any','tokens:mint','boards:admin','tournaments:admin','read']::text[])
);
--> statement-breakpoint
ALTER TABLE "boards" ADD COLUMN "max_increment" bigint;--> statement-breakpoint
ALTER TABLE "boards" ADD COLUMN "max_score_events_per_minute" integer;--> statement-breakpoint
ALTER TABLE "boards" ADD COLUMN "client_writes" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "boards" ADD COLUMN "public" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX "api_keys_created_idx" ON "api_keys" USING btree ("created_at");--> statement-breakpoint
ALTER TABLE "boards" ADD CONSTRAINT "boards_max_increment_positive" CHECK ("boards"."max_increment" is null or "boards"."max_increment" > 0);--> statement-breakpoint
ALTER TABLE "boards" ADD CONSTRAINT "boards_max_score_events_positive" CHECK ("boards"."max_score_events_per_minute" is null or "boards"."max_score_events_per_minute" > 0);