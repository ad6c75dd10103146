// Mutants of the write path: event validation and ingest, the consumer and dead letters,
// projection repairs and rank reloads, reconciliation, and access (keys, tokens, signatures, rate
// limits). The list format and rules are in mutants.ts.
import type { Mutant } from "./mutant.ts";

const EVENTS = "test/routes/events.test.ts";
const EVENT_VALIDATION = "test/services/ingest/event-validation.test.ts";
const BOARD_SANITY = "test/routes/board-sanity.test.ts";
const SCORE_RATE = "test/services/score-event-rate.test.ts";
const CONSUMER = "test/queue/event-consumer.test.ts";
const QUEUE_HANDLER = "test/queue/consumer.test.ts";
const ADMIN_KEY = "test/access/admin-key.test.ts";
const CREDENTIALS = "test/access/credentials.test.ts";
const MATRIX = "test/access/matrix.test.ts";
const RATE_LIMITS = "test/access/rate-limits.test.ts";
const GLOBAL_BUDGETS = "test/stores/redis/global-budgets.test.ts";
const SIGNING = "test/services/request-signing.test.ts";
const RECONCILE = "test/cron/reconcile-ranks.test.ts";
const REDIS_RESTORE = "test/cron/redis-restore.test.ts";
const REPLACE = "test/stores/redis/replace.test.ts";
const REDIS_RANKS = "test/stores/redis/ranks.test.ts";
const OBJECT_REPAIRS = "test/services/projection/object-repairs.test.ts";
const RANK_RELOAD = "test/services/projection/rank-reload.test.ts";
const SCORE_BOUNDS = "test/queue/score-bounds.test.ts";
const RELOAD_STEPS = "test/cron/reload-steps.test.ts";
const REDIS_DISPLAY = "test/stores/redis/display.test.ts";
const PARTIAL_LOSS = "test/cron/redis-partial-loss.test.ts";
const MODERATION = "test/routes/moderation.test.ts";

export const WRITE_MUTANTS: Mutant[] = [
  // -- ingest (services/ingest/) ---------------------------------------------------------------
  {
    id: "ingest.too-old-inclusive",
    file: "src/services/ingest/event-validation.ts",
    find: "if (occurredAt < now - limits.maxAgeMs) {",
    replace: "if (occurredAt <= now - limits.maxAgeMs) {",
    why: "an event exactly maxAge old is refused TOO_OLD though the window includes it",
    tests: [EVENT_VALIDATION, EVENTS],
  },
  {
    id: "ingest.future-uses-age-window",
    file: "src/services/ingest/event-validation.ts",
    find: "if (occurredAt > now + limits.maxFutureMs) {",
    replace: "if (occurredAt > now + limits.maxAgeMs) {",
    why: "an event hours ahead of the server clock is accepted (future skew bounded by the age)",
    tests: [EVENTS],
  },
  {
    id: "ingest.negative-step-unbounded",
    file: "src/services/ingest/event-validation.ts",
    find: "max === null || Math.abs(score) <= max) return null;",
    replace: "max === null || score <= max) return null;",
    why: "a negative increment step of any size passes the board's maxIncrement",
    tests: [BOARD_SANITY, EVENTS],
  },
  {
    id: "ingest.id-not-normalised",
    file: "src/services/ingest/event-validation.ts",
    find: "return id.length === 26 ? id.toUpperCase() : id.toLowerCase();",
    replace: "return id;",
    why: "one UUID sent in upper and then lower case counts as two events (a retry double-counts)",
    tests: [EVENT_VALIDATION, EVENTS],
  },
  {
    id: "ingest.rate-counts-own-events-twice",
    file: "src/services/ingest/score-event-rate.ts",
    find: "const before = (totals[i] ?? 0) - group.indexes.length;",
    replace: "const before = totals[i] ?? 0;",
    why: "a request's own events count twice against maxScoreEventsPerMinute: the limit halves",
    tests: [SCORE_RATE],
  },

  // -- queues (queue/) -------------------------------------------------------------------------
  {
    id: "consumer.projection-gives-up-unrepaired",
    file: "src/queue/event-consumer.ts",
    find: "const lastTry = landed.filter((m) => m.attempts >= PROJECTION_ATTEMPTS);",
    replace: "const lastTry = landed.filter((m) => m.attempts > PROJECTION_ATTEMPTS);",
    why: "on the last projection attempt the batch is acked without queueing its object's rebuild",
    tests: [SCORE_BOUNDS, CONSUMER],
  },
  {
    id: "queue.unknown-queue-acked",
    file: "src/queue/consumer.ts",
    find: "batch.retryAll({ delaySeconds: 60 });",
    replace: "batch.ackAll();",
    why: "a batch from a misnamed queue is acked: its events are lost instead of waiting for a fix",
    tests: [QUEUE_HANDLER, CONSUMER],
  },
  {
    id: "dlq.replay-repeats-replayed",
    file: "src/services/operations/dead-letters.ts",
    find: "where replayed_at is null and id = any(",
    replace: "where id = any(",
    why: "replaying by id sends an already replayed letter again (and counts it replayed)",
    tests: [EVENTS, ADMIN_KEY],
  },

  // -- projection repairs, reloads, reconciliation ---------------------------------------------
  {
    id: "repairs.cleared-during-rebuild",
    file: "src/services/projection/object-repairs.ts",
    find: "            lte(objectRepairs.requestedAt, started),\n",
    replace: "",
    why: "a repair requested during its rebuild is cleared though the rebuild may have missed it",
    tests: [OBJECT_REPAIRS, SCORE_BOUNDS],
  },
  {
    id: "reload.moved-rows-reset",
    file: "src/services/projection/rank-reload.ts",
    find: "      reset: false,\n      expiresAt,\n      watermark: movedAt,",
    replace: "      reset: true,\n      expiresAt,\n      watermark: movedAt,",
    why: "the rows moved during a reload replace the whole board-period: older players vanish",
    tests: [RANK_RELOAD, RECONCILE],
  },
  {
    id: "reload.lease-ignored",
    file: "src/services/projection/rank-reload.ts",
    find: "where rank_reloads.lease_until < now() or rank_reloads.holder = excluded.holder",
    replace: "where true",
    why: "overlapping cron runs reload the same board-period at once: twice the Upstash work",
    tests: [RELOAD_STEPS],
  },
  {
    id: "reload.cursor-not-resumed",
    file: "src/services/projection/rank-reload.ts",
    find: "let after = row.after_player_id === null ? undefined : row;",
    replace: "let after: ReloadRow | undefined;",
    why: "every run restarts a big reload from its first row: a board of millions never finishes",
    tests: [RELOAD_STEPS],
  },
  {
    id: "resync.records-reload-whole",
    file: "src/cron/reconcile-ranks.ts",
    find: "const since = r.since === null || !marker ? null : Math.min(r.since.getTime(), marker.at);",
    replace: "const since = null;",
    why: "a failed projection of a few records reloads the whole board-period from Postgres",
    tests: [RELOAD_STEPS],
  },
  {
    id: "reconcile.empty-keys-not-behind",
    file: "src/cron/reconcile-ranks.ts",
    find: "(marker.at + WATERMARK_TOLERANCE_MS < expected || marker.players === 0);",
    replace: "marker.at + WATERMARK_TOLERANCE_MS < expected;",
    why: "a ready board-period whose keys were both evicted stays empty though its object is not",
    tests: [REDIS_RESTORE, RECONCILE],
  },
  {
    id: "verify.in-flight-taken-for-loss",
    file: "src/services/projection/rank-check.ts",
    find: "if (row.updatedAt >= settledBefore || (held && held.version > row.version)) {",
    replace: "if (held && held.version > row.version) {",
    why: "a record still on its way to Redis counts as lost: busy boards reload every minute",
    tests: [PARTIAL_LOSS],
  },
  {
    id: "verify.score-unchecked",
    file: "src/services/projection/rank-check.ts",
    find: "      held.sortScore !== row.sortScore\n",
    replace: "      false\n",
    why: "a wrong score behind the ready marker is never found: Redis ranks it wrongly for good",
    tests: [PARTIAL_LOSS],
  },

  // -- Redis write scripts (stores/redis/lua.ts) -----------------------------------------------
  {
    id: "lua.swap-keeps-build-ttl",
    file: "src/stores/redis/lua.ts",
    find: "redis.call('PERSIST', KEYS[1])\nredis.call('PERSIST', KEYS[2])\n",
    replace: "",
    why: "a reloaded all-time board keeps the build keys' 2-minute TTL and vanishes from Redis",
    tests: [REPLACE, RECONCILE],
  },
  {
    id: "lua.apply-marker-goes-back",
    file: "src/stores/redis/lua.ts",
    find: "  elseif written > at then\n",
    replace: "  elseif written > 0 then\n",
    why: "an older batch's apply moves the ready marker back: readers needing the newer refuse",
    tests: [REDIS_RANKS, REPLACE],
  },
  {
    id: "lua.apply-keeps-old-name",
    file: "src/stores/redis/lua.ts",
    find: "      if display == '' then redis.call('HDEL', d, player) else",
    replace: "      if display == '' then redis.call('HLEN', d) else",
    why: "a player who clears their display name keeps showing the old one on every Redis read",
    tests: [REDIS_DISPLAY],
  },
  {
    id: "lua.swap-keeps-stale-names",
    file: "src/stores/redis/lua.ts",
    find: "else\n  redis.call('DEL', KEYS[6])\nend",
    replace: "end",
    why: "a reload without display fields keeps the names of the copy it replaced",
    tests: [REDIS_DISPLAY],
  },

  // -- access (services/access/, routes/access.ts, routes/rate-limit.ts, objects/) -------------
  {
    id: "signing.old-timestamp-accepted",
    file: "src/services/access/request-signing.ts",
    find: "if (Math.abs(skew) > SIGNATURE_WINDOW_MS) {",
    replace: "if (skew > SIGNATURE_WINDOW_MS) {",
    why: "a signed request any age old is accepted: a captured one replays once its id is swept",
    tests: [SIGNING],
  },
  {
    id: "access.anonymous-gets-403",
    file: "src/routes/access.ts",
    find: '  if (caller.kind === "anonymous")\n    throw new ApiError(\n      "UNAUTHORIZED",',
    replace: '  if (caller.kind === "admin")\n    throw new ApiError(\n      "UNAUTHORIZED",',
    why: "a request without a credential gets 403 instead of 401 (the client never logs in)",
    tests: [MATRIX],
  },
  {
    id: "access.revoked-key-row-live",
    file: "src/services/access/server-keys.ts",
    find: "const live = and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt));",
    replace: "const live = eq(apiKeys.prefix, prefix);",
    why: "a revoked server key keeps working (its row is still found)",
    tests: [CREDENTIALS, MATRIX],
  },
  {
    id: "tokens.idp-audience-unchecked",
    file: "src/services/access/player-tokens.ts",
    find: "...(config.IDP_AUDIENCE ? { audience: config.IDP_AUDIENCE } : {}),",
    replace: "",
    why: "an identity-provider token minted for another audience (another game) is accepted",
    tests: [CREDENTIALS],
  },
  {
    id: "rate.write-spends-read-budget",
    file: "src/routes/rate-limit.ts",
    find: 'write: "RATE_LIMIT_WRITE_IP",',
    replace: 'write: "RATE_LIMIT_READ_IP",',
    why: "writes spend the address's read budget: a write flood blocks reads, writes go unlimited",
    tests: [RATE_LIMITS],
  },
  {
    id: "budgets.other-pops-ignored",
    file: "src/stores/redis/global-budgets.ts",
    find: "current: Number(replies[i * 3]),",
    replace: "current: 0,",
    why: "the counts a flush reads back are dropped: a budget spent through other PoPs is never refused here",
    tests: [GLOBAL_BUDGETS],
  },
  {
    id: "budgets.own-grants-uncounted",
    file: "src/stores/redis/global-budgets.ts",
    find: "const used = (known ? slidingCount(known, now, WINDOW_MS) : 0) + pendingUnits;",
    replace: "const used = known ? slidingCount(known, now, WINDOW_MS) : 0;",
    why: "an isolate's grants since its last flush are not counted: a flood through one PoP passes until the flush",
    tests: [GLOBAL_BUDGETS, RATE_LIMITS],
  },
  {
    id: "replay-guard.sweep-deletes-live",
    file: "src/objects/replay-guard.ts",
    find: 'sql.exec("delete from seen where expires_at <= ?", Date.now());',
    replace: 'sql.exec("delete from seen where expires_at >= ?", Date.now());',
    why: "the sweep deletes the ids still inside their window: a signed request replays after it",
    tests: ["test/objects/replay-guard.test.ts"],
  },
  {
    id: "presence.empty-cached-long",
    file: "src/stores/postgres/period-presence.ts",
    find: "known.set(key, { has, until: now + (has ? HELD_MS : EMPTY_MS) });",
    replace: "known.set(key, { has, until: now + HELD_MS });",
    why: "a past period seen empty stays empty for ten minutes though a late event landed in it",
    tests: ["test/routes/leaderboards.test.ts"],
  },

  // -- moderation (stores/postgres/persist-batch.ts, objects/leaderboard/top-set.ts) --------------
  {
    id: "moderation.batch-ignores-bans",
    file: "src/stores/postgres/persist-batch.ts",
    find: "and not exists (select 1 from player_bans pb where pb.player_id = i.player_id)",
    replace: "and true",
    why: "an event queued before a ban still moves the banned player's score: the ban loses",
    tests: [MODERATION],
  },
  {
    id: "moderation.removed-record-restarts-at-1",
    file: "src/stores/postgres/persist-batch.ts",
    find: "a.metadata, coalesce(t.version, 0) + 1, now()",
    replace: "a.metadata, 1, now()",
    why: "a record earned again after a removal starts at version 1: projections that remember the removed version refuse it",
    tests: [MODERATION],
  },
  {
    id: "moderation.remove-keeps-complete",
    file: "src/objects/leaderboard/top-set.ts",
    find: "if (applied > 0 && !allHeld) this.#complete = false;",
    replace: "if (applied < 0 && !allHeld) this.#complete = false;",
    why: "a full top-N that loses a member never refills from Postgres: pages stay one short",
    tests: ["test/objects/leaderboard/top-set-remove.test.ts", MODERATION],
  },
];
