import { describe, expect, it } from "vitest";
import { displayNameProblem, metadataProblem } from "../../src/domain";

describe("displayNameProblem", () => {
  it("counts code points, so a name of emoji gets the same 32 as one of letters", () => {
    expect(displayNameProblem("a".repeat(32))).toBeNull();
    expect(displayNameProblem("👾".repeat(32))).toBeNull();
    expect(displayNameProblem("👾".repeat(33))).toMatch(/1-32 characters/);
    expect(displayNameProblem("")).toMatch(/1-32 characters/);
  });

  it("refuses every C0 and C1 control and DEL, and nothing printable next to them", () => {
    for (let code = 0; code <= 0xa0; code++) {
      const control = code <= 0x1f || (code >= 0x7f && code <= 0x9f);
      const problem = displayNameProblem(`a${String.fromCharCode(code)}b`);
      if (control) expect([code, problem]).toEqual([code, "must not contain control characters"]);
      else if (code !== 0x3c && code !== 0x3e) expect([code, problem]).toEqual([code, null]);
    }
  });

  it("refuses bidi embeddings, overrides and isolates, but not the marks around them", () => {
    for (const code of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      expect(displayNameProblem(`a${String.fromCharCode(code)}b`)).toMatch(/bidirectional/);
    }
    for (const code of [0x2029, 0x202f, 0x2065, 0x206a])
      expect(displayNameProblem(`a${String.fromCharCode(code)}b`)).toBeNull();
  });
});

describe("metadataProblem", () => {
  it("counts keys of nested objects, not array items, and levels from the metadata object", () => {
    expect(metadataProblem({ list: Array.from({ length: 40 }, (_, i) => i) })).toBeNull();
    expect(metadataProblem({ a: { b: 1, c: 2 }, d: 3 })).toBeNull();
    expect(
      metadataProblem(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, null]))),
    ).toMatch(/17 keys/);
    expect(metadataProblem({ a: { b: { c: [] } } })).toMatch(/4 levels/);
    expect(metadataProblem({ a: { b: { c: "deep enough" } } })).toBeNull();
  });
});
