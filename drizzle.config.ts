import { defineConfig } from "drizzle-kit";

// `npm run db:generate` diffs src/stores/postgres/schema against migrations/meta and writes a new
// SQL migration. Review it before committing: partitioning (events) and the score_buckets functions
// and triggers (0006, 0007: written with `drizzle-kit generate --custom`) are hand-added,
// drizzle-kit does not model them.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/stores/postgres/schema/index.ts",
  out: "./migrations",
  strict: true,
  verbose: true,
});
