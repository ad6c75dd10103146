/**
 * Values from the document's JSON Schemas: plausible ones (so a request gets past the first check
 * and reaches the deeper ones) and broken ones that no validator generated from the same schema
 * may accept, which is what lets the fuzz hold a valid credential without ever writing.
 */
import { hex, oddNumber, oddText, oddValue, type Random } from "./hostile";
import type { Schema } from "./operations";

/** Strings for properties or parameters by name (board ids that exist, the fuzz's player...). */
export type Hints = Record<string, (rng: Random) => string>;

const JSON_TYPES = ["string", "number", "integer", "boolean", "array", "object", "null"] as const;
type JsonType = (typeof JSON_TYPES)[number];

function typesOf(schema: Schema): JsonType[] {
  if (schema.type === undefined) {
    if (schema.enum) return [...new Set(schema.enum.map(jsonTypeOf))];
    if (schema.properties) return ["object"];
    return [];
  }
  const list = (Array.isArray(schema.type) ? schema.type : [schema.type]) as JsonType[];
  return schema.nullable ? [...list, "null"] : list;
}

function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value as JsonType;
}

export function uuid(rng: Random): string {
  return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${rng.pick(["8", "9", "a", "b"])}${hex(rng, 3)}-${hex(rng, 12)}`;
}

function stringCandidates(
  schema: Schema,
  rng: Random,
  name: string | undefined,
  hints: Hints,
): string[] {
  const candidates: string[] = [];
  const hint = name === undefined ? undefined : hints[name];
  if (hint) candidates.push(hint(rng));
  if (schema.format === "date-time")
    candidates.push(new Date(Date.now() - rng.int(0, 60_000)).toISOString());
  if (typeof schema.example === "string") candidates.push(schema.example);
  if (typeof schema.default === "string") candidates.push(schema.default);
  candidates.push(
    `fz-${hex(rng, 6)}`,
    uuid(rng),
    `key_${hex(rng, 32)}`,
    "a",
    "x".repeat(schema.minLength ?? 1),
  );
  return candidates;
}

function fitsString(schema: Schema, value: string): boolean {
  if (schema.enum && !schema.enum.includes(value)) return false;
  if (schema.minLength !== undefined && value.length < schema.minLength) return false;
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) return false;
  return true;
}

/**
 * A value the schema accepts (as far as JSON Schema can say: refinements are not in the document).
 */
export function validValue(schema: Schema, rng: Random, hints: Hints = {}, name?: string): unknown {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches?.length) return validValue(rng.pick(branches), rng, hints, name);
  if (schema.enum?.length) return rng.pick(schema.enum);
  const types = typesOf(schema).filter((t) => t !== "null");
  const type = types.length ? rng.pick(types) : "object";
  switch (type) {
    case "integer":
    case "number": {
      const low =
        schema.minimum ??
        (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1000);
      const high =
        schema.maximum ??
        (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1000);
      const lo = Math.max(low, -1e6);
      return rng.int(lo, Math.max(lo, Math.min(high, lo + 2000)));
    }
    case "boolean":
      return rng.next() < 0.5;
    case "string":
      return stringCandidates(schema, rng, name, hints).find((s) => fitsString(schema, s)) ?? "a";
    case "array": {
      const min = schema.minItems ?? 0;
      const count = rng.int(min, Math.max(min, Math.min(schema.maxItems ?? min + 3, min + 3)));
      return Array.from({ length: count }, () => validValue(schema.items ?? {}, rng, hints, name));
    }
    default: {
      const out: Record<string, unknown> = {};
      const required = new Set(schema.required ?? []);
      for (const [key, property] of Object.entries(schema.properties ?? {})) {
        if (required.has(key) || rng.next() < 0.4) out[key] = validValue(property, rng, hints, key);
      }
      return out;
    }
  }
}

/** A value of a JSON type the schema does not allow, if it restricts the type. */
function wrongType(schema: Schema, rng: Random): unknown {
  const allowed = new Set<JsonType>(typesOf(schema));
  if (allowed.has("number")) allowed.add("integer");
  const samples: Array<[JsonType, () => unknown]> = [
    ["string", () => rng.pick(["1", "true", "", "null", oddText(rng)])],
    ["integer", () => rng.pick([0, 1, -1, 2 ** 53 + 2])],
    ["number", () => rng.pick([0.5, -1.25, 1e-7])],
    ["boolean", () => rng.next() < 0.5],
    ["array", () => rng.pick([[], [1], [{}], ["a", "b"]])],
    ["object", () => rng.pick([{}, { a: 1 }, { length: 1 }])],
    ["null", () => null],
  ];
  const wrong = samples.filter(([type]) => !allowed.has(type));
  return rng.pick(wrong)[1]();
}

/**
 * A value no validator of this schema accepts, or undefined when none can be vouched for (an
 * unrestricted schema, or a union whose branches cover every type).
 */
export function brokenValue(
  schema: Schema,
  rng: Random,
  hints: Hints = {},
): { value: unknown } | undefined {
  if (schema.anyOf || schema.oneOf) {
    const covered = new Set((schema.anyOf ?? schema.oneOf ?? []).flatMap(typesOf));
    const left = JSON_TYPES.filter(
      (t) => !covered.has(t) && !(t === "integer" && covered.has("number")),
    );
    if (left.length === 0 || covered.size === 0) return undefined;
    return { value: wrongType({ type: [...covered] }, rng) };
  }
  if (typesOf(schema).length === 0) return undefined;
  const ways: Array<() => { value: unknown } | undefined> = [
    () => ({ value: wrongType(schema, rng) }),
  ];
  const types = typesOf(schema);
  if (schema.enum)
    ways.push(() => ({
      value: rng.pick(["", "ALL", "none", oddText(rng)].filter((v) => !schema.enum?.includes(v))),
    }));
  if (types.includes("integer") || types.includes("number")) {
    if (types.includes("integer") && !types.includes("number"))
      ways.push(() => ({ value: rng.pick([0.5, 1.0000001, -2.5]) }));
    if (schema.minimum !== undefined)
      ways.push(() => ({ value: (schema.minimum as number) - rng.pick([1, 1e6, 1e308]) }));
    if (schema.exclusiveMinimum !== undefined)
      ways.push(() => ({ value: schema.exclusiveMinimum }));
    if (schema.maximum !== undefined)
      ways.push(() => ({ value: (schema.maximum as number) + rng.pick([1, 2 ** 53, 1e308]) }));
  }
  if (types.includes("string")) {
    // Never whitespace: a trimming validator could make a long or odd string fit again.
    if (schema.maxLength !== undefined)
      ways.push(() => ({
        value: `${rng.pick(["a", "é", "😀"]).repeat(schema.maxLength as number)}z`,
      }));
    if (schema.format === "date-time")
      ways.push(() => ({
        value: rng.pick(["", "yesterday", "2026-11-22", "10:00:00Z", "2026-11-22T10:00:00"]),
      }));
    if (schema.pattern !== undefined) {
      const pattern = new RegExp(schema.pattern);
      ways.push(() => {
        const misfits = [oddText(rng), "", "a b", "..", "😀", "a/b", "%00", "\u0000"].filter(
          (s) => !pattern.test(s) && s.trim() === s,
        );
        return misfits.length ? { value: rng.pick(misfits) } : undefined;
      });
    }
  }
  if (types.includes("array")) {
    if (schema.maxItems !== undefined) {
      ways.push(() => ({
        value: Array.from({ length: (schema.maxItems as number) + 1 }, () =>
          validValue(schema.items ?? {}, rng, hints),
        ),
      }));
    }
    if (schema.minItems !== undefined && schema.minItems > 0) ways.push(() => ({ value: [] }));
    const item = schema.items;
    if (item) {
      ways.push(() => {
        const broken = brokenValue(item, rng, hints);
        if (!broken) return undefined;
        const items = validValue(
          { ...schema, minItems: Math.max(0, (schema.minItems ?? 0) - 1) },
          rng,
          hints,
        ) as unknown[];
        items.splice(rng.int(0, items.length), 0, broken.value);
        return { value: items.slice(0, schema.maxItems ?? items.length) };
      });
    }
  }
  if (types.includes("object") && schema.properties) {
    const base = () => validValue(schema, rng, hints) as Record<string, unknown>;
    const required = schema.required ?? [];
    if (required.length) {
      ways.push(() => {
        const value = base();
        delete value[rng.pick(required)];
        return { value };
      });
    }
    const properties = Object.entries(schema.properties);
    ways.push(() => {
      const [key, property] = rng.pick(properties);
      const broken = brokenValue(property, rng, hints);
      if (!broken) return undefined;
      const value = base();
      value[key] = broken.value;
      return { value };
    });
  }
  for (const way of rng.shuffle(ways)) {
    const result = way();
    if (result) return result;
  }
  return undefined;
}

/**
 * Extra hostile fields and values sprinkled over an object (they do not make it valid or invalid).
 */
export function withNoise(value: unknown, rng: Random): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (let i = rng.int(1, 3); i > 0; i--)
    out[rng.pick(["extra", "__proto__x", "constructor", oddText(rng).slice(0, 32), "id2"])] =
      oddValue(rng);
  if (rng.next() < 0.2) out.n = oddNumber(rng);
  return out;
}
