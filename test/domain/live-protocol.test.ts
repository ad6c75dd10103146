import { describe, expect, it } from "vitest";
import type { RankedEntryView } from "../../src/domain/leaderboard";
import {
  applyDelta,
  byeCloseReason,
  changedRows,
  parseLiveLimit,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
  reconnectDelayMs,
  relayParent,
  tierRange,
} from "../../src/domain/live-protocol";
import { makeRandom } from "./prng";

/** A toy board: best score first, ties by player id; the window is its top `limit` as views. */
function windowOf(scores: Map<string, number>, limit: number): RankedEntryView[] {
  return [...scores]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([playerId, score], i) => ({
      rank: i + 1,
      playerId,
      score,
      reachedAt: 1,
      displayName: null,
      metadata: null,
    }));
}

describe("live protocol", () => {
  it("deltas rebuild the full snapshot window (seeded random changes)", () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const random = makeRandom(seed);
      const scores = new Map<string, number>();
      const limit = random.int(1, 20);
      let client: RankedEntryView[] = windowOf(scores, limit);
      let sent = 0;
      for (let step = 0; step < 300; step += 1) {
        const player = `p${random.int(0, 40)}`;
        const roll = random.next();
        if (roll < 0.1) scores.delete(player);
        else scores.set(player, random.int(0, 60));
        const next = windowOf(scores, limit);
        const rows = changedRows(client, next);
        if (rows.length === 0 && client.length === next.length) continue;
        sent += 1;
        // Only rows that changed travel.
        for (const row of rows) expect(client[row.rank - 1]).not.toEqual(row);
        client = applyDelta(client, { size: next.length, rows });
        expect(client).toEqual(next);
      }
      expect(sent).toBeGreaterThan(10);
    }
  });

  it("a delta names rows by position, and a shrinking window drops its tail", () => {
    const before = windowOf(
      new Map([
        ["a", 3],
        ["b", 2],
        ["c", 1],
      ]),
      10,
    );
    const after = windowOf(
      new Map([
        ["a", 3],
        ["c", 2],
      ]),
      10,
    );
    const rows = changedRows(before, after);
    expect(rows.map((r) => [r.rank, r.playerId])).toEqual([[2, "c"]]);
    expect(applyDelta(before, { size: after.length, rows })).toEqual(after);
  });

  it("a reconnect delay is jittered within its bounds", () => {
    expect(reconnectDelayMs(() => 0)).toBe(RECONNECT_MIN_MS);
    expect(reconnectDelayMs(() => 0.999_999_999)).toBe(RECONNECT_MAX_MS);
    const random = makeRandom(7);
    const delays = Array.from({ length: 1000 }, () => reconnectDelayMs(random.next));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(10_000);
    // Spread, not bunched: each second of the range gets some.
    const seconds = new Set(delays.map((d) => Math.floor(d / 1000)));
    expect(seconds.size).toBeGreaterThanOrEqual(9);
    const reason = byeCloseReason(RECONNECT_MAX_MS);
    expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123);
    expect(JSON.parse(reason)).toEqual({ reconnectAfterMs: 10_000 });
  });

  it("tiers double and the tree feeds at most `fanout` relays per node", () => {
    expect([0, 1, 2, 3].map(tierRange)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 6 },
      { start: 6, end: 14 },
      { start: 14, end: 30 },
    ]);
    const fanout = 3;
    const children = new Map<number | null, number>();
    for (let i = 0; i < 200; i += 1) {
      const parent = relayParent(i, fanout);
      if (parent !== null) expect(parent).toBeLessThan(i);
      children.set(parent, (children.get(parent) ?? 0) + 1);
    }
    for (const count of children.values()) expect(count).toBeLessThanOrEqual(fanout);
    expect(children.get(null)).toBe(fanout);
  });

  it("parses ?limit= as before", () => {
    expect(parseLiveLimit(null)).toBe(10);
    expect(parseLiveLimit("100")).toBe(100);
    expect(parseLiveLimit("0")).toBeNull();
    expect(parseLiveLimit("1e2")).toBeNull();
  });
});
