import { runInDurableObject } from "cloudflare:test";
import type { AppBindings } from "../../src/env";
import type { LeaderboardDO } from "../../src/objects/leaderboard/leaderboard-do";
import { uniqueId } from "./factories";

/**
 * Another request context in this isolate, for tests of what one request may leave to another. A
 * Durable Object of this worker runs in the test's isolate (module state is shared) but its I/O
 * belongs to its own context: `start` runs there, and `tearDown` resets the object
 * (`state.abort`), which cancels whatever that context still had pending, as the runtime does to a
 * request whose client went away. A promise that context created then never settles.
 */
export async function ownerContext(
  env: AppBindings,
  start: () => void,
): Promise<{ tearDown(): Promise<void> }> {
  const stub = env.LEADERBOARD.getByName(uniqueId("owner-context"));
  await runInDurableObject(stub, () => {
    start();
  });
  return {
    async tearDown() {
      await runInDurableObject(stub, (_instance: LeaderboardDO, state) => {
        state.abort("the owner's request was torn down");
      }).catch(() => {});
    },
  };
}

/**
 * The promise's value, or "timed out" if it takes longer than `ms` (a hang must fail the test, not
 * time it out).
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | "timed out"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timed out">((resolve) => {
    timer = setTimeout(() => resolve("timed out"), ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}
