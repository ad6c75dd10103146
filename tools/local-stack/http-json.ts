import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A request body larger than the bridge accepts; `message` says what the client should send
 * instead.
 */
export class BodyTooLarge extends Error {}

/**
 * The whole request body, refused past `maxBytes` (the service a bridge stands in for has a limit
 * too).
 */
export async function readBody(
  req: IncomingMessage,
  maxBytes: number,
  fix: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BodyTooLarge(`request body over ${maxBytes} bytes: ${fix}`);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** A JSON answer with its length, as both bridges reply. */
export function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const json = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(json),
  });
  res.end(json);
}
