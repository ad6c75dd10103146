ALTER TABLE "boards" ADD COLUMN "prizes" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "boards" ADD COLUMN "prizes_since" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "boards_prizes_idx" ON "boards" USING btree ("id") WHERE "boards"."prizes" <> '[]'::jsonb;