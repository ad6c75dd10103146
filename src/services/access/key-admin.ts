import { desc, eq } from "drizzle-orm";
import type { Scope } from "../../domain";
import type { Database } from "../../stores/postgres/client";
import { type ApiKey, apiKeys } from "../../stores/postgres/schema";
import { forgetServerKey, issueKey } from "./server-keys";

/** A key as listed: never its secret or hashes. */
function keyView(row: ApiKey) {
  return {
    id: row.id,
    prefix: row.prefix,
    name: row.name,
    scopes: row.scopes as Scope[],
    requireSignature: row.requireSignature,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt ? row.revokedAt.toISOString() : null,
  };
}

/** Creates a key; the returned `key` is the only copy of the secret there will ever be. */
export async function createKey(
  db: Database,
  input: { name: string; scopes: Scope[]; requireSignature: boolean },
) {
  const issued = await issueKey();
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: issued.id,
      prefix: issued.prefix,
      hash: issued.hash,
      signingKey: issued.signingKey,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      requireSignature: input.requireSignature,
    })
    .returning();
  if (!row) throw new Error("the new key's row was not returned");
  return { ...keyView(row), key: issued.key };
}

/** Every key, newest first (revoked ones too, marked), at most `limit`. */
export async function listKeys(db: Database, limit: number) {
  const rows = await db
    .select()
    .from(apiKeys)
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(limit);
  return rows.map(keyView);
}

/**
 * Revokes a key: this isolate forgets it at once, every other within the key cache's lifetime
 * (KEY_CACHE_MS). Revoking twice is harmless; null when no key has this id.
 */
export async function revokeKey(db: Database, id: string) {
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  if (!existing) return null;
  const [row] = existing.revokedAt
    ? [existing]
    : await db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, id)).returning();
  forgetServerKey(existing.prefix);
  return row ? keyView(row) : null;
}
