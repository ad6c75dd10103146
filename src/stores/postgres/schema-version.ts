import journal from "../../../migrations/meta/_journal.json";

/**
 * The newest migration this code was built with (drizzle-kit's journal, bundled). drizzle records
 * each migration it applies with the journal's `when` as created_at and applies whatever is newer
 * than the newest record, so a database is current exactly when that record is at least this one.
 */
export const LATEST_MIGRATION: { tag: string; when: number } = (() => {
  const last = journal.entries.at(-1);
  if (!last)
    throw new Error("migrations/meta/_journal.json lists no migration: run npm run db:generate");
  return { tag: last.tag, when: last.when };
})();

/** Where drizzle's migrator (tools/migrate.ts) records what it applied. */
export const MIGRATIONS_TABLE = "drizzle.__drizzle_migrations";
