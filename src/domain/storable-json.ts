/**
 * Text Postgres cannot store: a NUL character (neither text nor jsonb holds one) and UTF-16
 * surrogates without their pair (jsonb refuses the escape JSON gives them). Such an event would
 * be accepted at the edge and then refused by the database; it is refused at the edge instead.
 * Nesting is bounded too, so walking (and later serialising) a hostile body cannot exhaust the
 * stack.
 */
const MAX_JSON_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function textProblem(text: string): string | null {
  if (text.includes("\u0000")) return "contains a NUL character (\\u0000)";
  if (LONE_SURROGATE.test(text)) return "contains a lone UTF-16 surrogate (not valid Unicode text)";
  return null;
}

/**
 * Why `value` (parsed JSON) cannot be stored, with the path of the first offending place; null if
 * it can.
 */
export function unstorableJson(value: unknown, path = "", depth = 0): string | null {
  if (typeof value === "string") {
    const problem = textProblem(value);
    return problem ? `${path || "value"} ${problem}` : null;
  }
  if (value === null || typeof value !== "object") return null;
  if (depth >= MAX_JSON_DEPTH)
    return `${path || "value"} is nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = unstorableJson(value[i], `${path}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  for (const [key, inner] of Object.entries(value)) {
    const keyProblem = textProblem(key);
    if (keyProblem) return `a key of ${path || "the event"} ${keyProblem}`;
    const problem = unstorableJson(inner, path ? `${path}.${key}` : key, depth + 1);
    if (problem) return problem;
  }
  return null;
}
