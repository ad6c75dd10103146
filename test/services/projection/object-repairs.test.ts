import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { leaderboardObjectName } from "../../../src/domain/board-period-key";
import type { BoardPeriod } from "../../../src/domain/leaderboard";
import type { AppBindings } from "../../../src/env";
import {
  repairObjects,
  requestObjectRepairs,
} from "../../../src/services/projection/object-repairs";
import { openDatabase } from "../../../src/stores/postgres/client";
import { createBoard, query, testEnv } from "../../helpers/factories";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The real objects, except that the board's "all" object, when asked to rebuild, first lets
 * `during` run: what a consumer does when its projection fails while the rebuild is under way.
 */
function rebuildInterruptedBy(board: string, during: () => Promise<void>): AppBindings {
  const real = testEnv.LEADERBOARD;
  const namespace = new Proxy(real, {
    get(target, property, receiver) {
      if (property !== "getByName") return Reflect.get(target, property, receiver);
      return (name: string) => {
        const stub = target.getByName(name);
        if (name !== leaderboardObjectName(board, "all")) return stub;
        return {
          rebuild: async (config: BoardPeriod) => {
            await during();
            return stub.rebuild(config);
          },
        };
      };
    },
  });
  return { ...testEnv, LEADERBOARD: namespace };
}

const requests = (board: string) =>
  query<{ error: string }>(sql`select error from object_repairs where board_id = ${board}`);

describe("repairObjects", () => {
  it("keeps a repair requested during its rebuild for the next run, which clears it", async () => {
    const board = await createBoard({ periods: ["all"] });
    const handle = openDatabase(testEnv, { maxConnections: 1 });
    try {
      const db = handle.db;
      await requestObjectRepairs(db, [{ boardId: board, periodKey: "all", error: "before" }]);
      const env = rebuildInterruptedBy(board, async () => {
        await sleep(5);
        await requestObjectRepairs(db, [{ boardId: board, periodKey: "all", error: "during" }]);
      });
      const first = await repairObjects(db, env);
      expect(first.repaired).toBeGreaterThanOrEqual(1);
      // The rebuild may have read Postgres before the write the second request is about.
      expect(await requests(board)).toEqual([{ error: "during" }]);

      const second = await repairObjects(db, testEnv);
      expect(second.repaired).toBeGreaterThanOrEqual(1);
      expect(await requests(board)).toEqual([]);
    } finally {
      await handle.close();
    }
  });
});
