import type { OpenAPIHono } from "@hono/zod-openapi";
import { registerDeleteKey } from "./admin/delete-key";
import { registerGetDlq } from "./admin/get-dlq";
import { registerGetIngestStats } from "./admin/get-ingest-stats";
import { registerGetKeys } from "./admin/get-keys";
import { registerGetMetrics } from "./admin/get-metrics";
import { registerGetObjectStats } from "./admin/get-object-stats";
import { registerPostDlqReplay } from "./admin/post-dlq-replay";
import { registerPostKey } from "./admin/post-key";
import { registerGetBoard } from "./boards/get-board";
import { registerPostBoard } from "./boards/post-board";
import type { AppContext } from "./context";
import { registerPostEvents } from "./events/post-events";
import { registerGetHealthLive } from "./health/get-live";
import { registerGetReady } from "./health/get-ready";
import { registerGetAround } from "./leaderboards/get-around";
import { registerGetLeaderboardLive } from "./leaderboards/get-live";
import { registerGetPage } from "./leaderboards/get-page";
import { registerGetPlayerRank } from "./leaderboards/get-player-rank";
import { registerGetRankOf } from "./leaderboards/get-rank-of";
import { registerPostPlayers } from "./leaderboards/post-players";
import { registerGetPlayerRanks } from "./players/get-ranks";
import { registerPostToken } from "./players/post-token";

/** Every operation of the API, one file each; the OpenAPI document lists them in this order. */
export function registerRoutes(app: OpenAPIHono<AppContext>): void {
  registerGetHealthLive(app);
  registerGetReady(app);
  registerPostEvents(app);
  registerPostBoard(app);
  registerGetBoard(app);
  registerGetPage(app);
  registerGetPlayerRank(app);
  registerGetAround(app);
  registerPostPlayers(app);
  registerGetRankOf(app);
  registerGetLeaderboardLive(app);
  registerGetPlayerRanks(app);
  registerGetDlq(app);
  registerPostDlqReplay(app);
  registerGetIngestStats(app);
  registerGetMetrics(app);
  registerGetObjectStats(app);
  registerPostKey(app);
  registerGetKeys(app);
  registerDeleteKey(app);
  registerPostToken(app);
}
