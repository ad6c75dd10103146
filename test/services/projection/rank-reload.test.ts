import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { reloadBoardPeriod } from "../../../src/services/projection/rank-reload";
import { openDatabase } from "../../../src/stores/postgres/client";
import { playerRankFromPostgres } from "../../../src/stores/postgres/ranks";
import { rankKeys } from "../../../src/stores/redis/keys";
import { countFromRedis, rankFromRedis } from "../../../src/stores/redis/ranks";
import { createBoard, query, testEnv } from "../../helpers/factories";
import { consumeScores } from "../../helpers/score-queue";
import { keyTracker, testRedis } from "../../stores/redis/fixtures";

const prefix = testEnv.REDIS_KEY_PREFIX;
const written = keyTracker(prefix);
const hasRedis = Boolean(testEnv.UPSTASH_REDIS_REST_URL);

describe.skipIf(!hasRedis)("reloadBoardPeriod (needs Redis: set REDIS_URL)", () => {
  afterAll(() => written.clear(testRedis()));

  it("loads every row, then merges in the rows moved since shortly before the load", async () => {
    const board = await createBoard({ periods: ["all"] });
    written.track(board, "all");
    const players = Array.from({ length: 6 }, (_, i): [string, number] => [`m${i}`, 10 * i]);
    await consumeScores(board, players);
    // All but m5 were last written long before the load: only m5 counts as moved.
    await query(sql`update scores set updated_at = now() - interval '10 minutes'
                    where board_id = ${board} and player_id <> 'm5'`);
    const redis = testRedis();
    await redis.del(rankKeys(prefix, board, "all").z, rankKeys(prefix, board, "all").m);

    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      const result = await reloadBoardPeriod(handle.db, redis, prefix, board, "all", null);
      expect(result).toMatchObject({ rows: 6, moved: 1, total: 6 });
      expect(await countFromRedis(redis, prefix, board, "all")).toBe(6);
      for (const [player] of players) {
        const pg = await playerRankFromPostgres(handle.db, board, "all", player);
        const rd = await rankFromRedis(redis, prefix, board, "all", player);
        expect([player, rd?.rank, rd?.total]).toEqual([player, pg?.rank, 6]);
      }
    } finally {
      await handle.close();
    }
  });
});
