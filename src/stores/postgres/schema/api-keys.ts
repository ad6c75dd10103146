import { sql } from "drizzle-orm";
import { boolean, check, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Server keys of a studio's game servers and tools. The secret is shown once at creation and
 * stored only as its SHA-256: the key carries 256 random bits, so a fast hash is as hard to
 * reverse as a slow one (key stretching only helps low-entropy secrets such as passwords), and
 * it keeps verification to one digest. `prefix` is public: it names the key in lists and logs and
 * finds its row.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    prefix: text("prefix").notNull().unique("api_keys_prefix_key"),
    /** Hex SHA-256 of the whole key. */
    hash: text("hash").notNull(),
    /**
     * Hex HMAC key of signed requests, derived from the key (services/access/request-signing.ts):
     * the server needs it in the clear to check a signature, and it is never the lookup hash.
     */
    signingKey: text("signing_key").notNull(),
    name: text("name").notNull(),
    scopes: text("scopes").array().notNull(),
    /** Every request with this key must be signed (HMAC) when true. */
    requireSignature: boolean("require_signature").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    check(
      "api_keys_scopes_valid",
      sql`${t.scopes} <@ array['events:write','scores:write-any','tokens:mint','boards:admin','tournaments:admin','read']::text[]`,
    ),
    index("api_keys_created_idx").on(t.createdAt),
  ],
);

export type ApiKey = typeof apiKeys.$inferSelect;
