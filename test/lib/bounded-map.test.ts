import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../src/lib/bounded-map";

describe("BoundedMap", () => {
  it("keeps the most recently set entries, dropping the oldest past its limit", () => {
    const map = new BoundedMap<string, number>(3);
    for (const [k, v] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ] as const)
      map.set(k, v);
    map.set("a", 10); // set again: now the newest
    map.set("d", 4);
    expect([...map.entries()]).toEqual([
      ["c", 3],
      ["a", 10],
      ["d", 4],
    ]);
    expect(map.size).toBe(3);
  });
});
