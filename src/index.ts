import { createApp } from "./app";
import { handleScheduled } from "./cron/scheduled";
import type { AppBindings } from "./env";
import { handleQueue } from "./queue/consumer";

export { LeaderboardDO } from "./objects/leaderboard/leaderboard-do";
export { LiveRelay } from "./objects/live-relay";
export { ReplayGuard } from "./objects/replay-guard";
export { TournamentClock } from "./objects/tournament-clock";

const app = createApp();

/** The worker's only default export: HTTP API, queue consumers and cron triggers. */
export default {
  fetch: app.fetch,
  queue: (batch, env, ctx) => handleQueue(batch, env, ctx),
  scheduled: (controller, env, _ctx) => handleScheduled(controller, env),
} satisfies ExportedHandler<AppBindings>;
