import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ReplayGuard } from "../../src/objects/replay-guard";
import { testEnv, uniqueId } from "../helpers/factories";
import { failure } from "./leaderboard/helpers";

/** A guard of its own per test (production names them by shard; see replayShardOf). */
function freshGuard() {
  return testEnv.REPLAY_GUARD.getByName(uniqueId("guard"));
}

type Guard = ReturnType<typeof freshGuard>;

function rowsOf(guard: Guard): Promise<Array<{ id: string; expires_at: number }>> {
  return runInDurableObject(guard, (_instance: ReplayGuard, state) =>
    state.storage.sql
      .exec<{ id: string; expires_at: number }>("select id, expires_at from seen order by id")
      .toArray(),
  );
}

function alarmOf(guard: Guard): Promise<number | null> {
  return runInDurableObject(guard, (_instance: ReplayGuard, state) => state.storage.getAlarm());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ReplayGuard", () => {
  it("says first once per id within its ttl, and again once the ttl has passed", async () => {
    const guard = freshGuard();
    expect(await guard.firstSeen("a", 60_000)).toBe(true);
    expect(await guard.firstSeen("a", 60_000)).toBe(false);
    expect(await guard.firstSeen("b", 60_000)).toBe(true);
    expect(await guard.firstSeen("c", 5)).toBe(true);
    await sleep(20);
    expect(await guard.firstSeen("c", 5)).toBe(true);
  });

  it("of concurrent offers of one id, exactly one is first", async () => {
    const guard = freshGuard();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => guard.firstSeen("same", 60_000)),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
  });

  it("its alarm deletes expired rows and is set again for the rows left", async () => {
    const guard = freshGuard();
    const before = Date.now();
    await guard.firstSeen("short-1", 1);
    await guard.firstSeen("short-2", 1);
    await guard.firstSeen("long", 120_000);
    // One sweep is pending, a minute after the first expiry, whatever the number of rows.
    const first = await alarmOf(guard);
    expect(first).not.toBeNull();
    expect(first as number).toBeGreaterThanOrEqual(before + 60_000);
    expect(first as number).toBeLessThan(before + 120_000);
    await sleep(10);

    expect(await runDurableObjectAlarm(guard)).toBe(true);
    const rows = await rowsOf(guard);
    expect(rows.map((r) => r.id)).toEqual(["long"]);
    expect(await alarmOf(guard)).toBe((rows[0]?.expires_at ?? 0) + 60_000);

    // Once every row has expired, the last sweep leaves no alarm and no rows.
    await runInDurableObject(guard, (_instance: ReplayGuard, state) => {
      state.storage.sql.exec("update seen set expires_at = ?", Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(guard)).toBe(true);
    expect(await rowsOf(guard)).toEqual([]);
    expect(await alarmOf(guard)).toBeNull();
    // A new id sets a sweep again.
    expect(await guard.firstSeen("later", 1_000)).toBe(true);
    expect(await alarmOf(guard)).not.toBeNull();
  });

  it("refuses ids and ttls a caller could only pass by mistake", async () => {
    const guard = freshGuard();
    expect(await failure(guard.firstSeen("", 1_000))).toMatch(
      /id must be a string of 1\.\.128 characters/,
    );
    expect(await failure(guard.firstSeen("x".repeat(129), 1_000))).toMatch(/id must be/);
    expect(await failure(guard.firstSeen("a", 0))).toMatch(/ttlMs must be an integer/);
    expect(await failure(guard.firstSeen("a", 1.5))).toMatch(/ttlMs must be an integer/);
    expect(await failure(guard.firstSeen("a", 2 * 24 * 60 * 60 * 1000))).toMatch(
      /ttlMs must be an integer/,
    );
  });
});
