/**
 * Queues' `sendBatch` takes at most 100 messages and 256 KB in all (docs/capacity.md). Splits
 * messages into batches under both, each message's JSON size plus ~100 B of envelope counted;
 * the byte budget keeps 16 KB of headroom below the limit.
 */
export const SEND_MAX_MESSAGES = 100;
export const SEND_MAX_BYTES = 240_000;
const ENVELOPE_BYTES = 100;

export function sendBatches<T>(items: readonly T[], bytesOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item) + ENVELOPE_BYTES;
    if (batch.length === SEND_MAX_MESSAGES || (batch.length > 0 && bytes + size > SEND_MAX_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

const utf8 = new TextEncoder();

/** A value's size as the queue counts it: UTF-8 bytes of its JSON. */
export const jsonBytes = (value: unknown): number => utf8.encode(JSON.stringify(value)).byteLength;
