import { corsOriginProblems, parsePastPeriodDays } from "../../domain";
import type { AppBindings } from "../../env";

type NumericVar = "EVENTS_MAX_BATCH" | "EVENTS_MAX_AGE_SECONDS" | "EVENTS_MAX_FUTURE_SECONDS";

/**
 * What each numeric var must be, as the code that reads it assumes (it reads them with Number()).
 */
const NUMERIC_VARS: Array<{ name: NumericVar; valid: (n: number) => boolean; expected: string }> = [
  {
    name: "EVENTS_MAX_BATCH",
    valid: (n) => Number.isSafeInteger(n) && n >= 1,
    expected: "an integer >= 1",
  },
  {
    name: "EVENTS_MAX_AGE_SECONDS",
    valid: (n) => Number.isFinite(n) && n > 0,
    expected: "a number of seconds > 0",
  },
  {
    name: "EVENTS_MAX_FUTURE_SECONDS",
    valid: (n) => Number.isFinite(n) && n >= 0,
    expected: "a number of seconds >= 0",
  },
];

/**
 * The [vars] of wrangler.toml that would make requests, batches or rebuilds fail (or silently
 * refuse every event, or every browser origin) if mistyped, and a local-only var left in a
 * deployment, each problem saying what to fix; empty when all are usable.
 * Readiness reports them, so a bad deploy shows on /health/ready before events pile up in retries.
 */
export function configProblems(env: AppBindings): string[] {
  const problems: string[] = [];
  for (const { name, valid, expected } of NUMERIC_VARS) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "" || !valid(Number(raw))) {
      problems.push(
        `${name} must be ${expected} (got "${raw ?? ""}"): fix it in wrangler.toml [vars]`,
      );
    }
  }
  for (const name of ["REDIS_PAST_PERIOD_DAYS", "OBJECT_PAST_PERIOD_DAYS"] as const) {
    try {
      parsePastPeriodDays(env[name], name);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  problems.push(...corsOriginProblems(env.CORS_ORIGINS));
  // The local Neon proxy speaks plain WebSockets and HTTP: a deployment must reach Neon directly.
  if (env.NEON_WS_PROXY && env.ENVIRONMENT !== "development") {
    problems.push(
      `NEON_WS_PROXY is set in ${env.ENVIRONMENT}; it is for local development only: remove it`,
    );
  }
  return problems;
}
