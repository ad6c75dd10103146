import type { Context } from "hono";
import type { Caller } from "../domain";
import { ApiError } from "../lib/errors";
import { describeError, log } from "../lib/log";
import { count } from "../lib/metrics";
import { metricsSinkFor } from "../stores/metrics";
import { globalBudgetsFor } from "../stores/redis/global-budgets";
import type { AppContext } from "./context";
import { routeOf } from "./route-name";

/** The classes routes are limited by; each has its own per-address budget. */
export type RateClass = "read" | "write" | "admin" | "mint";

type Limiter = { limit(options: { key: string }): Promise<{ success: boolean }> };

/**
 * Per-PoP budgets (Workers Rate Limiting bindings, configured per environment in wrangler.toml):
 * one per class per client address, and one per player token and per server key across
 * classes. Their window is 60 s, which is what Retry-After says.
 */
const ADDRESS_LIMITERS = {
  read: "RATE_LIMIT_READ_IP",
  write: "RATE_LIMIT_WRITE_IP",
  admin: "RATE_LIMIT_ADMIN_IP",
  mint: "RATE_LIMIT_MINT_IP",
} as const satisfies Record<RateClass, keyof Env>;
const WINDOW_SECONDS = 60;

export async function limitAddress(c: Context<AppContext>, rateClass: RateClass): Promise<void> {
  const address = c.req.header("cf-connecting-ip") ?? "unknown";
  await consume(
    c,
    "address",
    c.env[ADDRESS_LIMITERS[rateClass]],
    `${rateClass}:${address}`,
    `this address's ${rateClass} budget`,
  );
}

/**
 * The caller's own budgets: per PoP for every class, and for writes and token minting also
 * across PoPs when Upstash is configured, so a player cannot multiply the budget by reaching
 * several PoPs.
 */
export async function limitCaller(
  c: Context<AppContext>,
  caller: Caller,
  rateClass: RateClass,
): Promise<void> {
  const who =
    caller.kind === "player"
      ? `player:${caller.playerId}`
      : caller.kind === "key"
        ? `key:${caller.prefix}`
        : null;
  if (!who) return;
  const binding = caller.kind === "player" ? c.env.RATE_LIMIT_PLAYER : c.env.RATE_LIMIT_KEY;
  await consume(
    c,
    caller.kind === "player" ? "player" : "key",
    binding,
    `${rateClass}:${who}`,
    caller.kind === "player" ? "this player's budget" : "this key's budget",
  );
  if (rateClass === "write" || rateClass === "mint")
    limitGlobally(c, caller.kind === "player" ? "player" : "key", `${rateClass}:${who}`);
}

async function consume(
  c: Context<AppContext>,
  budget: "address" | "player" | "key",
  limiter: Limiter,
  key: string,
  what: string,
): Promise<void> {
  let success: boolean;
  try {
    ({ success } = await limiter.limit({ key }));
  } catch (error) {
    // The binding is the platform's; if it fails, serving beats refusing everyone.
    log.warn("rate limit: the binding failed; the request is let through", {
      error: describeError(error),
    });
    return;
  }
  if (!success) tooMany(c, budget, what, WINDOW_SECONDS);
}

/** A 429, counted and recorded as a data point naming the route and the budget that ran out. */
function tooMany(
  c: Context<AppContext>,
  budget: "address" | "player" | "key" | "global",
  what: string,
  retryAfterSeconds: number,
): never {
  count(budget === "global" ? "rateLimitedGlobal" : "rateLimited");
  metricsSinkFor(c.env).write({ kind: "rate_limited", route: routeOf(c), limiter: budget });
  throw new ApiError(
    "RATE_LIMITED",
    `Too many requests: ${what} is spent; retry after ${retryAfterSeconds} s`,
    { retryAfterSeconds },
    { "retry-after": String(retryAfterSeconds) },
  );
}

/**
 * The caller's budget across PoPs, counted in Redis in batches (stores/redis/global-budgets.ts): a
 * grant costs no round trip of its own, and a budget spent elsewhere is seen here within a flush.
 */
function limitGlobally(c: Context<AppContext>, kind: "player" | "key", key: string): void {
  const { redis, redisBreaker } = c.get("stores");
  const perMinute = Number(
    kind === "player"
      ? c.env.GLOBAL_RATE_LIMIT_PLAYER_PER_MINUTE
      : c.env.GLOBAL_RATE_LIMIT_KEY_PER_MINUTE,
  );
  if (!redis || !Number.isInteger(perMinute) || perMinute <= 0) return;
  const verdict = globalBudgetsFor(redis, redisBreaker, c.env.REDIS_KEY_PREFIX).take(
    `${kind}:${perMinute}:${key}`,
    perMinute,
    (promise) => c.executionCtx.waitUntil(promise),
  );
  if (!verdict.granted)
    tooMany(c, "global", `this ${kind}'s budget across all locations`, verdict.retryAfterSeconds);
}
