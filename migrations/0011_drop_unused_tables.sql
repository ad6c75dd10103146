-- Hand-added: no code reads or writes these tables; the tournament and rollup features will
-- design their own.
DROP TABLE "hourly_stats" CASCADE;--> statement-breakpoint
DROP TABLE "prizes" CASCADE;--> statement-breakpoint
DROP TABLE "tournament_entries" CASCADE;--> statement-breakpoint
DROP TABLE "tournaments" CASCADE;