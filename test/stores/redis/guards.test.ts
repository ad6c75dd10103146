import type { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { TimeoutError } from "../../../src/lib/timeout";
import { rankKeys } from "../../../src/stores/redis/keys";
import {
  decodeMember,
  decodeMemberRecord,
  encodeMember,
  encodeMemberRecord,
} from "../../../src/stores/redis/member";
import {
  applyToRedis,
  pageAfter,
  pageFromRedis,
  rankFromRedis,
  ranksFromRedis,
  redisChangeOf,
  replaceBoardPeriod,
} from "../../../src/stores/redis/ranks";
import { isNoScript } from "../../../src/stores/redis/script";

// No Redis needed: the codecs, input validation, and the time bound / reply checks run against
// stubs.

/** A client whose every call fails the test, to prove validation happens before any I/O. */
const untouchable = new Proxy(
  {},
  {
    get: (_, name) => () => {
      throw new Error(`unexpected Redis call: ${String(name)}`);
    },
  },
) as unknown as Redis;

describe("redis member codec", () => {
  it("encodes reachedAt zero-padded to 13 digits, so byte order is time order", () => {
    expect(encodeMember(0, "p")).toBe("0000000000000:p");
    expect(encodeMember(999_999_999_999, "p1")).toBe("0999999999999:p1");
    expect(encodeMember(1_763_812_800_000, "a:b|c")).toBe("1763812800000:a:b|c");
    expect(encodeMember(999_999_999_999, "z") < encodeMember(1_000_000_000_000, "a")).toBe(true);
  });

  it("round-trips ids containing ':' and '|'", () => {
    for (const id of ["p1", "a:b", "x|y", ":", "|", "@-_."]) {
      const member = encodeMember(1_763_812_800_123, id);
      expect(decodeMember(member)).toEqual({ reachedAt: 1_763_812_800_123, playerId: id });
      expect(decodeMemberRecord(encodeMemberRecord(42, member))).toEqual({ version: 42, member });
    }
  });

  it("refuses what would break the order, and decodes nothing it did not produce", () => {
    for (const bad of [-1, 1.5, 10 ** 13, Number.NaN])
      expect(() => encodeMember(bad, "p")).toThrow(RangeError);
    expect(() => encodeMember(0, "")).toThrow(RangeError);
    for (const bad of ["", "123:p", "0000000000000:", "000000000000x:p", "0000000000000-p"])
      expect(decodeMember(bad)).toBeNull();
    for (const bad of ["", "|0000000000000:p", "x|0000000000000:p", "1|junk"])
      expect(decodeMemberRecord(bad)).toBeNull();
  });
});

describe("redis rank store guards", () => {
  it("keys share one hash tag per board-period and refuse ids that would move it", () => {
    expect(rankKeys("eb:t:", "b1", "2026-11")).toEqual({
      z: "eb:t:lb:{b1/2026-11}:z",
      m: "eb:t:lb:{b1/2026-11}:m",
      ready: "eb:t:lb:{b1/2026-11}:ready:2",
      d: "eb:t:lb:{b1/2026-11}:d",
    });
    expect(() => rankKeys("eb:", "b{1}", "all")).toThrow(RangeError);
  });

  it("maps a persisted change to a sort score by the board's order", () => {
    const change = {
      boardId: "b",
      periodKey: "all",
      playerId: "p",
      score: 42,
      reachedAt: 7,
      version: 3,
      changed: true,
      displayName: null,
      metadata: null,
    };
    expect(redisChangeOf(change, "desc", null)).toEqual({
      boardId: "b",
      periodKey: "all",
      playerId: "p",
      sortScore: -42,
      reachedAt: 7,
      version: 3,
      displayName: null,
      metadata: null,
      expiresAt: null,
    });
    expect(redisChangeOf(change, "asc", 1_000).sortScore).toBe(42);
    expect(redisChangeOf(change, "asc", 1_000).expiresAt).toBe(1_000);
    expect(Object.is(redisChangeOf({ ...change, score: 0 }, "desc", null).sortScore, 0)).toBe(true);
  });

  it("validates every change before sending anything", async () => {
    const base = {
      boardId: "b",
      periodKey: "all",
      playerId: "p",
      sortScore: 1,
      reachedAt: 0,
      version: 1,
    };
    for (const bad of [
      { sortScore: 1.5 },
      { sortScore: 2 ** 53 },
      { version: -1 },
      { reachedAt: -5 },
      { playerId: "" },
      { expiresAt: 0 },
      { expiresAt: 1.5 },
    ]) {
      await expect(applyToRedis(untouchable, "eb:", [base, { ...base, ...bad }])).rejects.toThrow(
        RangeError,
      );
    }
    await expect(
      pageFromRedis(untouchable, "eb:", "b", "all", { offset: -1, limit: 5 }),
    ).rejects.toThrow(RangeError);
    await expect(
      pageFromRedis(untouchable, "eb:", "b", "all", { offset: 0, limit: 0 }),
    ).rejects.toThrow(RangeError);
    await expect(
      pageFromRedis(untouchable, "eb:", "b", "all", { offset: 0, limit: 1001 }),
    ).rejects.toThrow(RangeError);
    await expect(
      pageAfter(untouchable, "eb:", "b", "all", { sortScore: 0.5, reachedAt: 0, playerId: "p" }, 5),
    ).rejects.toThrow(RangeError);
    await expect(
      replaceBoardPeriod(untouchable, "eb:", "b", "all", [{ ...base, version: 0.5 }], {
        reset: true,
      }),
    ).rejects.toThrow(RangeError);
  });

  it("gives up after the time bound instead of waiting for a stalled Redis", async () => {
    const stalled = { evalshaRo: () => new Promise(() => {}) } as unknown as Redis;
    await expect(rankFromRedis(stalled, "eb:", "b", "all", "p", { timeoutMs: 20 })).rejects.toThrow(
      TimeoutError,
    );
  });

  it("throws on a malformed reply rather than returning a wrong rank", async () => {
    const replying = (reply: unknown) => ({ evalshaRo: async () => reply }) as unknown as Redis;
    // The rank script's reply: {total, per player nil or {rank0, score, member}}.
    await expect(
      rankFromRedis(replying([3, ["x", "1", "0000000000000:p"]]), "eb:", "b", "all", "p"),
    ).rejects.toThrow(/safe integer/);
    await expect(
      rankFromRedis(replying([3, [0, "1", "garbage"]]), "eb:", "b", "all", "p"),
    ).rejects.toThrow(/malformed member/);
    await expect(rankFromRedis(replying("OK"), "eb:", "b", "all", "p")).rejects.toThrow(
      /not an array/,
    );
    await expect(rankFromRedis(replying([3, "OK"]), "eb:", "b", "all", "p")).rejects.toThrow(
      /not an array/,
    );
    expect(await rankFromRedis(replying([3, null]), "eb:", "b", "all", "p")).toBeNull();
    // Numbers come back as JSON numbers or strings (also "1e+15"): both normalise.
    expect(
      await rankFromRedis(replying(["3", [0, "1e+15", "0000000000007:p"]]), "eb:", "b", "all", "p"),
    ).toEqual({
      rank: 1,
      sortScore: 1e15,
      reachedAt: 7,
      total: 3,
    });
    expect(
      await ranksFromRedis(replying([5, null, [4, "9", "0000000000002:q"]]), "eb:", "b", "all", [
        "p",
        "q",
      ]),
    ).toEqual([null, { rank: 5, sortScore: 9, reachedAt: 2, total: 5 }]);
  });

  it("recognises NOSCRIPT however the SDK wraps it", () => {
    expect(isNoScript(new Error("NOSCRIPT No matching script. Please use EVAL."))).toBe(true);
    expect(isNoScript(new Error("Command 1 [ evalsha ] failed: NOSCRIPT No matching script"))).toBe(
      true,
    );
    expect(isNoScript("NOSCRIPT No matching script")).toBe(true);
    expect(isNoScript(new Error("WRONGTYPE Operation against a key"))).toBe(false);
  });
});
