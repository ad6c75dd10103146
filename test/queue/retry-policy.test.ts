import { describe, expect, it } from "vitest";
import {
  backoffSeconds,
  exhausted,
  isPermanentDatabaseError,
  MAX_ATTEMPTS,
} from "../../src/queue/retry-policy";
import { isSchemaMissing, sqlState } from "../../src/stores/postgres/errors";

describe("retry policy", () => {
  it("backs off exponentially from 2 s, capped at 5 minutes", () => {
    expect([1, 2, 3, 4, 8, 9, 20].map(backoffSeconds)).toEqual([2, 4, 8, 16, 256, 300, 300]);
  });

  it("gives up (dead-letters) only after MAX_ATTEMPTS", () => {
    expect(exhausted(MAX_ATTEMPTS - 1)).toBe(false);
    expect(exhausted(MAX_ATTEMPTS)).toBe(true);
  });

  it("treats data, integrity and statement errors as permanent, everything else as transient", () => {
    const wrapped = (code: string) =>
      Object.assign(new Error("Failed query: ..."), {
        cause: Object.assign(new Error("pg"), { code }),
      });
    expect(isPermanentDatabaseError(wrapped("22P05"))).toBe(true);
    expect(isPermanentDatabaseError(wrapped("23505"))).toBe(true);
    expect(isPermanentDatabaseError(wrapped("42601"))).toBe(true);
    expect(isPermanentDatabaseError(wrapped("57P01"))).toBe(false);
    expect(isPermanentDatabaseError(wrapped("40001"))).toBe(false);
    expect(
      isPermanentDatabaseError(
        Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      ),
    ).toBe(false);
    expect(isPermanentDatabaseError(new Error("Connection terminated unexpectedly"))).toBe(false);
    expect(sqlState(wrapped("22P05"))).toBe("22P05");
  });

  it("retries a missing table or column (a migration not yet run) instead of dead-lettering every event", () => {
    const wrapped = (code: string) =>
      Object.assign(new Error("Failed query: ..."), {
        cause: Object.assign(new Error("pg"), { code }),
      });
    for (const code of ["42P01", "42703", "3F000"]) {
      expect(isSchemaMissing(wrapped(code)), code).toBe(true);
      expect(isPermanentDatabaseError(wrapped(code)), code).toBe(false);
    }
    expect(isSchemaMissing(wrapped("42601"))).toBe(false);
    expect(isSchemaMissing(new Error("connect ECONNREFUSED"))).toBe(false);
  });
});
