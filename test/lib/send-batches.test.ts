import { describe, expect, it } from "vitest";
import { SEND_MAX_BYTES, SEND_MAX_MESSAGES, sendBatches } from "../../src/lib/send-batches";

describe("sendBatches", () => {
  it("closes a batch at 100 messages", () => {
    const batches = sendBatches(
      Array.from({ length: 250 }, (_, i) => i),
      () => 10,
    );
    expect(batches.map((b) => b.length)).toEqual([SEND_MAX_MESSAGES, SEND_MAX_MESSAGES, 50]);
    expect(batches.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it("closes a batch before its bytes, envelopes included, would pass the budget", () => {
    // Three messages fill the budget exactly (each plus its 100 B envelope); the fourth opens one.
    const size = SEND_MAX_BYTES / 3 - 100;
    expect(sendBatches([1, 2, 3, 4], () => size).map((b) => b.length)).toEqual([3, 1]);
    expect(sendBatches([1, 2, 3], () => size + 1).map((b) => b.length)).toEqual([2, 1]);
  });

  it("sends an oversized message alone rather than dropping it, and nothing for no messages", () => {
    expect(sendBatches(["big", "small"], (m) => (m === "big" ? SEND_MAX_BYTES * 2 : 1))).toEqual([
      ["big"],
      ["small"],
    ]);
    expect(sendBatches([], () => 1)).toEqual([]);
  });
});
