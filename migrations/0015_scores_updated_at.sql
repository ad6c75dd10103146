-- Not CONCURRENTLY: drizzle's migrator applies migrations inside one transaction, where Postgres refuses it; the build blocks score writes (not reads) while it runs, so on a large table run this statement with CONCURRENTLY by hand first and IF NOT EXISTS makes it a no-op here.
CREATE INDEX IF NOT EXISTS "scores_updated_idx" ON "scores" USING btree ("board_id","period_key","updated_at");
