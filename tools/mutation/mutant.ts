/** One curated mutant: a small, realistic bug in a module where a silent bug costs most. */
export interface Mutant {
  id: string;
  /** From the repository root. */
  file: string;
  /** Exact text, or a pattern; either must match exactly once. */
  find: string | RegExp;
  replace: string;
  /** The bug it stands for. */
  why: string;
  tests: string[];
}
