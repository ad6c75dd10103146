/**
 * Turns a raw RESP2 reply (from ioredis `callBuffer`) into the JSON value Upstash's REST API sends.
 * With `Upstash-Encoding: base64` (what @upstash/redis asks for by default) every string, status
 * replies included, is base64 so binary values survive JSON; integers stay numbers, nil is null,
 * arrays recurse. Without it strings are UTF-8.
 */
export function encodeReply(reply: unknown, base64: boolean): unknown {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (typeof reply === "string")
    return base64 ? Buffer.from(reply, "utf8").toString("base64") : reply;
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64));
  // Errors nested in array replies (EXEC in RESP2) have no Upstash representation: keep the text.
  if (reply instanceof Error) return encodeReply(reply.message, base64);
  return encodeReply(String(reply), base64);
}

/** Command arguments as Redis wants them: JSON numbers and booleans arrive unquoted. */
export function toCommand(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const out: string[] = [];
  for (const arg of value) {
    if (typeof arg === "string") out.push(arg);
    else if (typeof arg === "number" || typeof arg === "boolean") out.push(String(arg));
    else return undefined;
  }
  return out;
}
