import { describe, expect, it } from "vitest";
import { corsOriginProblems, parseCorsOrigins } from "../../src/domain";

describe("CORS_ORIGINS", () => {
  it("is a comma-separated list of exact origins; empty allows none", () => {
    expect(parseCorsOrigins(undefined)).toEqual([]);
    expect(parseCorsOrigins("")).toEqual([]);
    expect(parseCorsOrigins(" https://a.example, https://b.example:8443 ,")).toEqual([
      "https://a.example",
      "https://b.example:8443",
    ]);
  });

  it("names the entries that could never match a browser's Origin", () => {
    expect(corsOriginProblems("https://a.example,http://localhost:5173")).toEqual([]);
    const problems = corsOriginProblems("https://a.example/,*,a.example,https://b.example/path");
    expect(problems).toHaveLength(4);
    expect(problems[0]).toContain('"https://a.example/"');
  });
});
