CREATE TABLE "rank_resync" (
	"board_id" text NOT NULL,
	"period_key" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rank_resync_pkey" PRIMARY KEY("board_id","period_key")
);
