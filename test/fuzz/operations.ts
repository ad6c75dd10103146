/**
 * The operations of the served OpenAPI document, with $refs resolved: the fuzz reads the routes
 * from what clients read, so a route added tomorrow is fuzzed without touching the fuzz.
 */

/** The subset of JSON Schema the generator understands; unknown keywords are ignored. */
export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  example?: unknown;
  default?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  nullable?: boolean;
  $ref?: string;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  schema: Schema;
}

export interface Operation {
  /** "METHOD /path/{template}", as routes/access.ts keys them. */
  id: string;
  method: string;
  path: string;
  parameters: Parameter[];
  body: { schema: Schema; required: boolean } | undefined;
  /** `x-edgeboard-access`; undefined is a route outside the access layer (a failure). */
  access: { credential: string; rateLimit: string } | undefined;
}

interface Document {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface RawOperation {
  parameters?: Array<{ name: string; in: Parameter["in"]; required?: boolean; schema?: Schema }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  "x-edgeboard-access"?: { credential: string; rateLimit: string };
}

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

export function operationsOf(document: Document): Operation[] {
  const resolve = resolver(document.components?.schemas ?? {});
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const json = raw.requestBody?.content?.["application/json"]?.schema;
      operations.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        parameters: (raw.parameters ?? []).map((p) => ({
          name: p.name,
          in: p.in,
          required: p.required ?? false,
          schema: resolve(p.schema ?? {}),
        })),
        body: json
          ? { schema: resolve(json), required: raw.requestBody?.required ?? false }
          : undefined,
        access: raw["x-edgeboard-access"],
      });
    }
  }
  return operations;
}

/** Inlines `#/components/schemas/X` references (the document has no recursive schemas). */
function resolver(components: Record<string, Schema>): (schema: Schema) => Schema {
  const resolve = (schema: Schema, seen: ReadonlySet<string> = new Set()): Schema => {
    if (schema.$ref) {
      const name = schema.$ref.replace("#/components/schemas/", "");
      const target = components[name];
      if (!target || seen.has(name)) return {};
      return resolve(target, new Set([...seen, name]));
    }
    const out: Schema = { ...schema };
    if (schema.properties)
      out.properties = Object.fromEntries(
        Object.entries(schema.properties).map(([k, v]) => [k, resolve(v, seen)]),
      );
    if (schema.items) out.items = resolve(schema.items, seen);
    if (typeof schema.additionalProperties === "object")
      out.additionalProperties = resolve(schema.additionalProperties, seen);
    for (const key of ["anyOf", "oneOf", "allOf"] as const) {
      const list = schema[key];
      if (list) out[key] = list.map((s) => resolve(s, seen));
    }
    return out;
  };
  return resolve;
}
