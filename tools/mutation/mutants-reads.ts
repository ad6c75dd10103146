// Mutants of the read path: leaderboard reads, period selection, player ranks, the Postgres and Redis rank queries, the Durable Object's reads, the page cache and the read routes' parameters. The list format and rules are in mutants.ts.
import type { Mutant } from "./mutants.ts";

export const READ_MUTANTS: Mutant[] = [];
