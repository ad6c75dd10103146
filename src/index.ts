import { createApp } from "./app";
import type { AppBindings } from "./env";
import { handleQueue } from "./queue/consumer";

export { LeaderboardDO } from "./do/leaderboard-do";

const app = createApp();

/** The worker's only default export: HTTP API, queue consumers and cron triggers. */
export default {
  fetch: app.fetch,
  queue: (batch, env, _ctx) => handleQueue(batch, env),
} satisfies ExportedHandler<AppBindings>;
