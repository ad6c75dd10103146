/**
 * The logging hook every local-stack piece accepts: one line per call, no trailing newline. A plain
 * function keeps the pieces usable from dev.ts (prints), vitest setup (quiet) and benchmarks.
 */
export type Log = (line: string) => void;

/** Default for callers that did not ask for output: the stack is silent unless told otherwise. */
export const silent: Log = () => {};
