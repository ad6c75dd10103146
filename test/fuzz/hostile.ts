/**
 * The catalogue of hostile inputs the API fuzz draws from: odd strings, numbers, JSON texts,
 * path segments and query values. Everything is drawn through `Random`, so a seed replays a run.
 */
import type { makeRandom } from "../domain/prng";

export type Random = ReturnType<typeof makeRandom>;

const KB = 1024;

/** Text that has broken parsers, databases and terminals before. */
const ODD_TEXT = [
  "",
  " ",
  "\t\n\r",
  "..",
  "../../etc/passwd",
  "null",
  "undefined",
  "true",
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "1e308",
  "-0",
  "9007199254740993",
  "%00",
  "%2F",
  "a\u0000b",
  "\u0000",
  "\ud800",
  "\udfff",
  "x\ud83d",
  "😀",
  "👩‍👩‍👧‍👦",
  "🏳️‍🌈",
  "\u202eevil\u202c",
  "\u200f\u200e\u2066\u2069",
  "مرحبا",
  "שלום",
  "\ufeffbom",
  "\u00e9t\u00e9",
  "Ω≈ç√∫",
  "ｆｕｌｌｗｉｄｔｈ",
  "<script>alert(1)</script>",
  "'; drop table boards; --",
  '"quoted"',
  "\\",
  "$" + "{jndi:ldap://x}",
  "{{7*7}}",
  "%s%s%s%n",
  "a/b",
  "a?b#c",
  "__proto__",
  "constructor",
  "key_00000000000000000000000000000000",
];

/** Numbers at and past every boundary the schemas have. */
const ODD_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.000001,
  59,
  60,
  86_401,
  1001,
  10_001,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  Number.EPSILON,
];

/** Number literals JSON.stringify cannot produce (it has no -0, no 2^53+1, no exponents). */
export const RAW_NUMBER_LITERALS = [
  "-0",
  "9007199254740993",
  "-9007199254740993",
  "1e308",
  "1E400",
  "-1e-400",
  "0.0000",
  "1.0",
  "1e2",
];

export function oddText(rng: Random): string {
  switch (rng.int(0, 9)) {
    case 0:
      return longText(rng);
    case 1:
      return randomUnicode(rng, rng.int(1, 40));
    default:
      return rng.pick(ODD_TEXT);
  }
}

export function oddNumber(rng: Random): number {
  return rng.next() < 0.8 ? rng.pick(ODD_NUMBERS) : (rng.next() - 0.5) * 10 ** rng.int(0, 300);
}

/** Up to ~100 KB of one repeated character, or of mixed unicode. */
export function longText(rng: Random): string {
  const length = rng.pick([65, 129, 201, 257, 1025, 4 * KB + 1, 64 * KB, 100 * KB]);
  return rng.next() < 0.7
    ? rng.pick(["a", "é", "😀", " ", "\u202e", "0"]).repeat(length)
    : randomUnicode(rng, Math.min(length, 8 * KB));
}

/** Random code points across planes, with a chance of lone surrogates and controls. */
function randomUnicode(rng: Random, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    const band = rng.int(0, 5);
    const code =
      band === 0
        ? rng.int(0, 0x1f)
        : band === 1
          ? rng.int(0x20, 0x7e)
          : band === 2
            ? rng.int(0x80, 0x7ff)
            : band === 3
              ? rng.int(0xd800, 0xdfff)
              : band === 4
                ? rng.int(0x1f300, 0x1faff)
                : rng.int(0x800, 0xfffd);
    out += band === 3 ? String.fromCharCode(code) : String.fromCodePoint(code);
  }
  return out;
}

/** Any JSON value, shallow or nested, hostile at the leaves. */
export function oddValue(rng: Random, depth = 0): unknown {
  const kind = rng.int(0, depth > 2 ? 5 : 8);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
    case 3:
      return oddNumber(rng);
    case 4:
    case 5:
      return oddText(rng);
    case 6:
      return Array.from({ length: rng.int(0, 4) }, () => oddValue(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(0, 4); i > 0; i--)
        object[rng.next() < 0.5 ? oddText(rng).slice(0, 64) : `k${i}`] = oddValue(rng, depth + 1);
      return object;
    }
  }
}

/** `depth` levels of arrays or objects around a value (JSON text, so no recursion in stringify). */
export function deeplyNested(rng: Random, depth: number, shape?: "array"): string {
  if (shape === "array" || rng.next() < 0.5) return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
  return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

/** Text that is not JSON, or not all of it. */
export function invalidJsonText(rng: Random): string {
  return rng.pick([
    "{",
    "}",
    "[1,2",
    '{"a":1,}',
    "{'a':1}",
    '{"a":undefined}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":01}',
    '{"a":.5}',
    '{"a":"\\x41"}',
    '{"a":"\\u12"}',
    '{"a":"unterminated}',
    "nul",
    "tru",
    '{"a":1}{"b":2}',
    '{"a":1} trailing',
    "\u0000",
    "<xml/>",
    "a=1&b=2",
    '--boundary\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--boundary--',
    "/* comment */ {}",
  ]);
}

/** A path segment, already as it goes on the wire (percent-encoded where needed). */
export function oddPathSegment(rng: Random): string {
  return rng.pick([
    "..",
    ".",
    "%2e%2e",
    "%00",
    "a%00b",
    "%2F",
    "a%2Fb",
    "%25",
    "%",
    "%zz",
    "%ED%A0%80",
    "%C0%AE",
    "%FF",
    encodeURIComponent("😀"),
    encodeURIComponent("üñí©ødé"),
    encodeURIComponent("\u202eevil"),
    encodeURIComponent("a b"),
    "a;b",
    "a,b",
    "~",
    "-leading",
    "_",
    "a".repeat(65),
    "b".repeat(129),
    "c".repeat(4 * KB),
    "d".repeat(20 * KB),
    "key_",
    "key_XYZ",
    "__proto__",
    "null",
    "0",
  ]);
}

/** A value for any query parameter, as it goes on the wire. */
export function oddQueryValue(rng: Random): string {
  return rng.pick([
    "",
    "-1",
    "0",
    "-0",
    "1.5",
    "1e308",
    "1e2",
    "9007199254740993",
    "-9007199254740993",
    "99999999999999999999999",
    "NaN",
    "Infinity",
    "0x10",
    "+5",
    " 5",
    "5abc",
    "true",
    "null",
    "%00",
    "%FF",
    "%ED%A0%80",
    encodeURIComponent("😀"),
    encodeURIComponent("\u202e"),
    "x".repeat(2 * KB),
    // cursor-like garbage and base64 noise
    "eyJhIjoxfQ",
    "eyJhIjoxfQ==",
    "WzEsImFsbCIsMSwxLCJwIl0",
    "WzEsImFsbCIsOTAwNzE5OTI1NDc0MDk5MywxLCJwIl0",
    "////",
    "++++",
    "AAAA",
    "-_-_",
    "=",
    "....",
    // period keys far past, far future, malformed
    "previous",
    "current",
    "1970-01-01",
    "0000-00-00",
    "9999-12-31",
    "2026-W00",
    "2026-W54",
    "2026-13",
    "275760-09-13",
    "-000001-01",
    "2026-02-30",
    "2026-1-1",
    "yesterday",
  ]);
}

export function base64Noise(rng: Random, length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=";
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[rng.int(0, alphabet.length - 1)];
  return out;
}

export function hex(rng: Random, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += "0123456789abcdef"[rng.int(0, 15)];
  return out;
}

/**
 * Printable ASCII noise for header values. Non-ASCII goes into headers only escaped: workerd
 * re-encodes raw non-ASCII values as UTF-8 and warns on every one, which would bury the summary.
 */
export function headerNoise(rng: Random, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += String.fromCharCode(rng.int(0x20, 0x7e));
  return out.trim() || "x";
}

/** Non-ASCII text as clients escape it into a header. */
export const ESCAPED_NON_ASCII = [
  "\\u00e9\\u00e8\\u00ff",
  "%C3%A9%C3%A8",
  "=?UTF-8?B?w6nDqA==?=",
  "\\xff\\xfe",
  "&#233;&#x1F600;",
  "\\ud800",
];

/**
 * encodeURIComponent that also takes lone surrogates (it throws on them): they go on the wire as
 * the three bytes UTF-8 would have given them, which no decoder accepts.
 */
export function percentEncode(text: string): string {
  return text.replace(
    /[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]|[^\ud800-\udfff]+/g,
    (part) =>
      part.length === 1 && /[\ud800-\udfff]/.test(part)
        ? `%ED%${(0xa0 + ((part.charCodeAt(0) >> 6) & 0x1f)).toString(16).toUpperCase()}%${(0x80 + (part.charCodeAt(0) & 0x3f)).toString(16).toUpperCase()}`
        : encodeURIComponent(part),
  );
}
