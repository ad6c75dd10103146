/**
 * Bounds of what one player's event puts on every page of a board: its display name and its
 * record's metadata. Pages are read by every client of the game, so one client must not be able
 * to put markup, invisible text or a wall of data in front of all of them.
 */
export const DISPLAY_NAME_MAX_CHARS = 32;
export const METADATA_MAX_BYTES = 512;
export const METADATA_MAX_KEYS = 16;
export const METADATA_MAX_DEPTH = 3;

// Cc is exactly the C0 and C1 controls, DEL included (U+0000-U+001F, U+007F-U+009F). The bidi
// embeddings, overrides and isolates let a name reorder the text shown after it.
const CONTROL = /\p{Cc}/u;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/;
const MARKUP = /[<>]/;

/** Why a display name (already trimmed) may not be shown, or null. Lengths count code points. */
export function displayNameProblem(name: string): string | null {
  const length = [...name].length;
  if (length < 1 || length > DISPLAY_NAME_MAX_CHARS)
    return `must be 1-${DISPLAY_NAME_MAX_CHARS} characters after trimming (got ${length})`;
  if (CONTROL.test(name)) return "must not contain control characters";
  if (BIDI.test(name))
    return (
      "must not contain bidirectional override or isolate characters " +
      "(U+202A-U+202E, U+2066-U+2069)"
    );
  if (MARKUP.test(name)) return "must not contain '<' or '>'";
  return null;
}

const utf8 = new TextEncoder();

/**
 * Why a record's metadata may not be stored, or null: its JSON is at most METADATA_MAX_BYTES
 * bytes of UTF-8, it has at most METADATA_MAX_KEYS keys counting those of nested objects, and it
 * nests at most METADATA_MAX_DEPTH levels (the metadata object itself is level 1).
 */
export function metadataProblem(metadata: Record<string, unknown>): string | null {
  const bytes = utf8.encode(JSON.stringify(metadata)).byteLength;
  if (bytes > METADATA_MAX_BYTES)
    return `is ${bytes} bytes of JSON; the limit is ${METADATA_MAX_BYTES}`;
  let keys = 0;
  let deepest = 0;
  const walk = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== "object") return;
    deepest = Math.max(deepest, depth);
    const children = Array.isArray(value) ? value : Object.values(value);
    if (!Array.isArray(value)) keys += children.length;
    for (const child of children) walk(child, depth + 1);
  };
  walk(metadata, 1);
  if (keys > METADATA_MAX_KEYS)
    return `has ${keys} keys (nested objects' included); the limit is ${METADATA_MAX_KEYS}`;
  if (deepest > METADATA_MAX_DEPTH)
    return `nests ${deepest} levels deep; the limit is ${METADATA_MAX_DEPTH}`;
  return null;
}
