// Mutants of the write path: event validation and ingest, the consumer and dead letters, projection repairs and rank reloads, reconciliation, and access (keys, tokens, signatures, rate limits). The list format and rules are in mutants.ts.
import type { Mutant } from "./mutants.ts";

export const WRITE_MUTANTS: Mutant[] = [];
