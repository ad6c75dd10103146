import type { Stack } from "./stack.ts";

/**
 * What a case prints: one or a few lines of what it compared, and what went wrong (empty: passed).
 */
export interface CaseReport {
  lines: string[];
  failures: string[];
}

/** One fault or abuse scenario, a module of its own under test/faults/cases/. */
export interface FaultCase {
  /** Short id for selecting it: `npm run test:faults -- <id>`. */
  id: string;
  title: string;
  run(stack: Stack, runId: string): Promise<CaseReport>;
}
