/**
 * Request bodies with their Content-Type. With a valid credential (`strict`) every body is one the
 * route must refuse: broken by the schema, not JSON, not an object, or (POST /v1/events) made of
 * items each refused on its own.
 */
import { type CredentialKind, isValidCredential } from "./credentials";
import { type EventWorld, eventsBody, type Sender } from "./event-bodies";
import {
  deeplyNested,
  hex,
  invalidJsonText,
  longText,
  oddText,
  oddValue,
  RAW_NUMBER_LITERALS,
  type Random,
} from "./hostile";
import type { Schema } from "./operations";
import { brokenValue, type Hints, uuid, validValue, withNoise } from "./schema-values";

export type Body = { body: string | FormData | undefined; contentType: string | undefined };

export const JSON_MEDIA_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json;charset=UTF-8",
];
const OTHER_TYPES = [
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "application/xml",
  "application/jsonx",
  "application/vnd.api+json",
  "application/json; charset=utf-16",
  "json",
  "",
  "*/*",
  "application/octet-stream",
];

/** No Content-Type header at all (the PRNG's pick refuses undefined items). */
const NO_TYPE = "(none)";
const typeOrNone = (type: string) => (type === NO_TYPE ? undefined : type);

/** JSON that a schema without required fields accepts: never with a valid credential. */
const LOOSE_JSON = [
  '{"a":1,"a":2,"__proto__":{"admin":true}}',
  "\ufeff{}",
  "{}",
  '{"ids":[],"limit":1}',
];

export function text(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/**
 * A raw number literal JSON.stringify cannot produce (-0, 2^53+1, 1e308...) in place of a numeric
 * field. With a valid credential only over a value that misses a required field.
 */
function withRawNumber(value: unknown, schema: Schema, rng: Random): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const numeric = Object.entries(schema.properties ?? {}).filter(
    ([, s]) => s.type === "integer" || s.type === "number",
  );
  if (numeric.length === 0) return undefined;
  const [key] = rng.pick(numeric);
  return text({ ...(value as object), [key]: "__RAW__" }).replace(
    '"__RAW__"',
    rng.pick(RAW_NUMBER_LITERALS),
  );
}

/** A JSON body for a schema-validated operation; `strict`: the request must be invalid. */
export function schemaBody(schema: Schema, hints: Hints, rng: Random, strict: boolean): Body {
  const json = (body: string): Body => ({ body, contentType: rng.pick(JSON_MEDIA_TYPES) });
  const broken = () => brokenValue(schema, rng, hints);
  const roll = rng.int(0, 99);
  if (roll < 35) {
    const value = broken()?.value;
    if (value !== undefined) return json(text(rng.next() < 0.3 ? withNoise(value, rng) : value));
  }
  if (roll < 45) {
    // Missing a required field keeps it invalid whatever the literal is.
    const required = schema.required ?? [];
    const base = validValue(schema, rng, hints) as Record<string, unknown>;
    if (strict && required.length) delete base[rng.pick(required)];
    const raw = strict && !required.length ? undefined : withRawNumber(base, schema, rng);
    if (raw) return json(raw);
  }
  if (roll < 55) return json(invalidJsonText(rng));
  if (roll < 60)
    return json(deeplyNested(rng, rng.pick([500, 1000, 1000, 5000]), strict ? "array" : undefined));
  if (roll < 65)
    return {
      body: "",
      contentType: typeOrNone(
        rng.pick([...JSON_MEDIA_TYPES, ...(strict ? [] : [NO_TYPE, "text/plain"])]),
      ),
    };
  if (roll < 75) {
    // Not JSON: a plain text, form or multipart body (always refused, whoever sends it).
    const value = strict ? (broken()?.value ?? [1]) : validValue(schema, rng, hints);
    const form = new FormData();
    form.set("payload", text(value));
    return rng.pick<() => Body>([
      () => ({
        body: text(value),
        contentType: rng.pick(
          OTHER_TYPES.filter((t) => !t.includes("json") || t === "application/jsonx"),
        ),
      }),
      () => ({ body: "a=1&name=x&scopes=read", contentType: "application/x-www-form-urlencoded" }),
      () => ({ body: form, contentType: undefined }),
      () => ({ body: text(value), contentType: undefined }),
    ])();
  }
  if (roll < 80 && !strict) return json(text(oddValue(rng)));
  if (roll < 85 && !strict) return json(rng.pick(LOOSE_JSON));
  if (roll < 88) {
    const long = { id: longText(rng), name: longText(rng), more: oddText(rng) };
    return json(text(strict ? [long] : long));
  }
  if (roll < 90) return json(`[${text("x".repeat(1024 * 1024))}]`);
  if (!strict) return json(text(withNoise(validValue(schema, rng, hints), rng)));
  const value = broken()?.value ?? [];
  return json(text(value));
}

export function eventsRequestBody(
  world: EventWorld & { maxBatch: number },
  rng: Random,
  credential: CredentialKind,
): Body {
  // The read-only key may not send events at all; its items are refused as strictly as the admin's
  // all the same.
  const sender: Sender =
    credential === "player" ? "player" : isValidCredential(credential) ? "admin" : "other";
  const value = eventsBody(world, rng, sender, world.maxBatch);
  const roll = rng.int(0, 99);
  // The route parses the body itself, whatever its declared type; a valid credential still gets
  // refused items only.
  if (roll < 75) return { body: text(value), contentType: rng.pick(JSON_MEDIA_TYPES) };
  // Text types only: workerd warns on every read of a body typed as anything else, and the route
  // reads them all alike.
  if (roll < 85)
    return {
      body: text(value),
      contentType: typeOrNone(rng.pick(["text/plain", "text/plain;charset=UTF-8", NO_TYPE])),
    };
  if (roll < 89) {
    // A score as a literal JSON.stringify cannot write (-0, 2^53+1, 1e308) on an item refused for
    // its board anyway.
    const item = {
      id: uuid(rng),
      type: "score",
      playerId: world.player,
      occurredAt: new Date().toISOString(),
      boardId: `fz-nope-${hex(rng, 6)}`,
    };
    return {
      body: text({ ...item, score: "__RAW__" }).replace('"__RAW__"', rng.pick(RAW_NUMBER_LITERALS)),
      contentType: "application/json",
    };
  }
  if (roll < 92) return { body: invalidJsonText(rng), contentType: rng.pick(JSON_MEDIA_TYPES) };
  if (roll < 96)
    return { body: deeplyNested(rng, rng.pick([1000, 5000])), contentType: "application/json" };
  return { body: "", contentType: typeOrNone(rng.pick([...JSON_MEDIA_TYPES, NO_TYPE])) };
}
