import { defineConfig } from "drizzle-kit";

// `npm run db:generate` diffs src/db/schema against migrations/meta and writes a new SQL migration.
// Review it before committing: partitioning (events) is hand-added, drizzle-kit does not model it.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/index.ts",
  out: "./migrations",
  strict: true,
  verbose: true,
});
