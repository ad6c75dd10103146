import { z } from "@hono/zod-openapi";
import { SCOPES } from "../../domain";

const ScopeSchema = z.enum(SCOPES).openapi({
  description:
    "events:write: send events (any player) to boards open to client writes; " +
    "scores:write-any: also move scores on server-authoritative boards (clientWrites false); " +
    "tokens:mint: mint player tokens; " +
    "boards:admin: create boards, read the DLQ, ingest stats and metrics; " +
    "tournaments:admin: manage tournaments; " +
    "read: read private boards",
});

export const CreateKeySchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .refine(
        (name) => ![...name].some((ch) => (ch.codePointAt(0) ?? 0) < 0x20 || ch === "\u007f"),
        "no control characters",
      )
      .openapi({ example: "game-server-eu" }),
    scopes: z.array(ScopeSchema).min(1).max(SCOPES.length),
    requireSignature: z.boolean().default(false).openapi({
      description:
        "Every request with this key must carry an HMAC signature (X-Edgeboard-Signature)",
    }),
  })
  .openapi("CreateKey");

const keyFields = {
  id: z.string(),
  prefix: z
    .string()
    .openapi({ description: "Public part of the key, for lists and logs", example: "eb_k7x2m9qa" }),
  name: z.string(),
  scopes: z.array(ScopeSchema),
  requireSignature: z.boolean(),
  createdAt: z.string(),
};

export const KeySchema = z
  .object({ ...keyFields, revokedAt: z.string().nullable() })
  .openapi("Key");

export const CreatedKeySchema = z
  .object({
    ...keyFields,
    key: z.string().openapi({ description: "The secret: shown this once, store it now" }),
  })
  .openapi("CreatedKey");

export const KeyListSchema = z.object({ keys: z.array(KeySchema) }).openapi("KeyList");

export const KeyParamsSchema = z.object({
  id: z.string().regex(/^key_[0-9a-f]{32}$/, "a key id as POST /v1/admin/keys returns it"),
});
