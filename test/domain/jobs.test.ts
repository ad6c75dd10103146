import { describe, expect, it } from "vitest";
import { expectedJobs, jobHealth } from "../../src/domain";

const NOW = new Date("2026-12-04T12:00:00Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe("jobHealth (time given by the test)", () => {
  it("is degraded once the last success is older than twice the period", () => {
    expect(jobHealth("object repairs", ago(2 * MIN), ago(HOUR), NOW).degraded).toBe(false);
    expect(jobHealth("object repairs", ago(2 * MIN + 1), ago(HOUR), NOW).degraded).toBe(true);
    expect(jobHealth("upkeep", ago(47 * HOUR), ago(100 * HOUR), NOW).degraded).toBe(false);
    expect(jobHealth("upkeep", ago(48 * HOUR + 1), ago(100 * HOUR), NOW).degraded).toBe(true);
    expect(jobHealth("rollups", ago(2 * HOUR), ago(100 * HOUR), NOW).degraded).toBe(false);
    expect(jobHealth("rollups", ago(2 * HOUR + 1), ago(100 * HOUR), NOW).degraded).toBe(true);
  });

  it("measures a job that never succeeded from when records began, not from the epoch", () => {
    // First deploy: the table is empty, nothing has run yet.
    expect(jobHealth("upkeep", null, null, NOW).degraded).toBe(false);
    // The minute jobs started recording an hour ago; the daily upkeep has not had its turn yet.
    expect(jobHealth("upkeep", null, ago(HOUR), NOW).degraded).toBe(false);
    // ... but it never succeeding for more than two days is degraded.
    expect(jobHealth("upkeep", null, ago(49 * HOUR), NOW).degraded).toBe(true);
    expect(jobHealth("rank reconciliation", null, ago(3 * MIN), NOW).degraded).toBe(true);
  });

  it("expects the Redis reconciliation only when Redis is configured", () => {
    expect(expectedJobs(false)).toEqual([
      "upkeep",
      "object repairs",
      "rollups",
      "tournament finalisation",
    ]);
    expect(expectedJobs(true)).toEqual([
      "upkeep",
      "object repairs",
      "rank reconciliation",
      "rollups",
      "tournament finalisation",
    ]);
  });
});
