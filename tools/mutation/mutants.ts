// The curated mutants of `npm run test:mutation` (tools/mutation/run.ts). Each is a small,
// realistic bug in a module where a silent bug costs most: `find` must match its file exactly
// once (the runner refuses to start otherwise: when the code moves, move the mutant with it),
// `replace` is the bug, `why` says what it would break, and `tests` are the test files that
// should catch it (only these run, so keep them few and relevant). When an issue lands, the bug
// it fixed joins this list, with the tests that now catch it.

import type { Mutant } from "./mutant.ts";
import { READ_MUTANTS } from "./mutants-reads.ts";
import { WRITE_MUTANTS } from "./mutants-writes.ts";

const CONSUMER = "test/queue/event-consumer.test.ts";
const SCORE_BOUNDS = "test/queue/score-bounds.test.ts";
const TOP_SET = "test/objects/leaderboard/top-set.test.ts";
const DO = "test/objects/leaderboard/leaderboard-do.test.ts";
const REDIS_RANKS = "test/stores/redis/ranks.test.ts";
const REDIS_GUARDS = "test/stores/redis/guards.test.ts";
const CREDENTIALS = "test/access/credentials.test.ts";
const MATRIX = "test/access/matrix.test.ts";
const LEADERBOARDS = "test/routes/leaderboards.test.ts";
const HOSTILE_READS = "test/routes/hostile-reads.test.ts";
const EVENTS = "test/routes/events.test.ts";
const EVENT_BOUNDS = "test/routes/event-bounds.test.ts";
const BOARD_SANITY = "test/routes/board-sanity.test.ts";

export const MUTANTS: Mutant[] = [
  // -- batch writer (stores/postgres/persist-batch.ts) ----------------------------------------
  {
    id: "persist.version-not-bumped",
    file: "src/stores/postgres/persist-batch.ts",
    find: "excluded.metadata, s.version + 1, now())`;",
    replace: "excluded.metadata, s.version, now())`;",
    why: "a replaced best/latest record keeps its version: the DO and Redis version guards drop the new score",
    tests: ["test/queue/second-score.test.ts", CONSUMER, TOP_SET],
  },
  {
    id: "persist.best-tie-break-flipped",
    file: "src/stores/postgres/persist-batch.ts",
    find: "or (excluded.sort_score = s.sort_score and excluded.reached_at < s.reached_at)`,",
    replace: "or (excluded.sort_score = s.sort_score and excluded.reached_at > s.reached_at)`,",
    why: "an equal best score reached later takes the record (and its earlier time) from the first",
    tests: [CONSUMER, SCORE_BOUNDS],
  },
  {
    id: "persist.best-not-strict",
    file: "src/stores/postgres/persist-batch.ts",
    find: "sql`where excluded.sort_score < s.sort_score",
    replace: "sql`where excluded.sort_score <= s.sort_score",
    why: "an equal best score rewrites the record: a new version and reached_at for no improvement",
    tests: [CONSUMER, SCORE_BOUNDS],
  },
  {
    id: "persist.latest-accepts-older",
    file: "src/stores/postgres/persist-batch.ts",
    find: "sql`where excluded.reached_at > s.reached_at`,",
    replace: "sql`where excluded.reached_at <> s.reached_at`,",
    why: "a late (older) event overwrites a latest-operator record that came after it",
    tests: [CONSUMER, SCORE_BOUNDS],
  },
  {
    id: "persist.idempotency-ignored",
    file: "src/stores/postgres/persist-batch.ts",
    find: "(i.event_id in (select event_id from fresh)) as is_fresh",
    replace: "true as is_fresh",
    why: "a redelivered event counts again: increments double on every queue retry",
    tests: [CONSUMER, SCORE_BOUNDS],
  },
  {
    id: "persist.increment-reject-bound",
    file: "src/stores/postgres/persist-batch.ts",
    find: "sql`where (select b.score_overflow = 'clamp'",
    replace: "sql`where (select b.score_overflow <> 'none'",
    why: "a reject board's increment past maxScore is written (clamped) instead of refused",
    tests: [SCORE_BOUNDS],
  },

  // -- consumer (queue/event-consumer.ts, queue/retry-policy.ts) -------------------------------
  {
    id: "consumer.ack-failed-messages",
    file: "src/queue/event-consumer.ts",
    find: "for (const message of landed) if (!outcome.failed.has(message)) message.ack();",
    replace: "for (const message of accepted) message.ack();",
    why: "messages whose write failed transiently are acked: their events are lost",
    tests: [CONSUMER],
  },
  {
    id: "consumer.transient-marked-permanent",
    file: "src/queue/event-consumer.ts",
    find: "    if (!isPermanentDatabaseError(error)) {\n",
    replace: "    if (isPermanentDatabaseError(error)) {\n",
    why: "a database outage bisects and dead-letters every event instead of retrying the batch",
    tests: [CONSUMER],
  },
  {
    id: "consumer.bisection-drops-half",
    file: "src/queue/event-consumer.ts",
    find: "await persistIsolating(writes, items.slice(middle), 0, { ...part, batches: 0 });",
    replace: "",
    why: "a poison event's batch keeps only its first half: the good events of the second are lost",
    tests: [CONSUMER],
  },
  {
    id: "consumer.in-batch-duplicates-uncounted",
    file: "src/queue/event-consumer.ts",
    find: "      inBatchDuplicates += 1;\n",
    replace: "",
    why: "an id repeated inside one batch is not counted as a duplicate: ingest stats undercount",
    tests: [CONSUMER, EVENTS],
  },
  {
    id: "retry.exhausted-late",
    file: "src/queue/retry-policy.ts",
    find: "return attempts >= MAX_ATTEMPTS;",
    replace: "return attempts > MAX_ATTEMPTS;",
    why: "a failing message gets one retry more than the policy says before its dead letter",
    tests: ["test/queue/retry-policy.test.ts"],
  },

  // -- projections (services/projection/score-projection.ts) -----------------------------------
  {
    id: "projection.new-players-miscounted",
    file: "src/services/projection/score-projection.ts",
    find: "group.filter((c) => c.changed && c.version === 1).length,",
    replace: "group.filter((c) => c.changed).length,",
    why: "when Postgres' exact count cannot be read, every changed record counts as a new player",
    tests: ["test/services/projection/score-projection.test.ts", CONSUMER, DO],
  },

  // -- Durable Object (objects/leaderboard/) ---------------------------------------------------
  {
    id: "topset.version-guard-not-strict",
    file: "src/objects/leaderboard/top-set.ts",
    find: "if (known !== undefined && change.version <= known) continue;",
    replace: "if (known !== undefined && change.version < known) continue;",
    why: "a redelivered state of the same version applies again (journal and live updates repeat)",
    tests: [TOP_SET, DO],
  },
  {
    id: "topset.version-guard-dropped",
    file: "src/objects/leaderboard/top-set.ts",
    find: "if (known !== undefined && change.version <= known) continue;",
    replace: "if (known === undefined && change.version < 0) continue;",
    why: "an older state reordered after a newer one overwrites it in the top-N",
    tests: [TOP_SET, DO],
  },
  {
    id: "topset.eviction-off-by-one",
    file: "src/objects/leaderboard/top-set.ts",
    find: "while (this.#entries.length > this.topSizeValue) {",
    replace: "while (this.#entries.length > this.topSizeValue + 1) {",
    why: "the top-N holds one entry more than topSize",
    tests: [TOP_SET, DO],
  },
  {
    id: "do.written-at-goes-back",
    file: "src/objects/leaderboard/leaderboard-do.ts",
    find: "if (at === undefined || at <= this.#writtenAt) return;",
    replace: "if (at === undefined) return;",
    why: "an older batch's time replaces a newer watermark: reads think the object is behind",
    tests: [DO],
  },
  {
    id: "do.total-undercounts-held",
    file: "src/objects/leaderboard/leaderboard-do.ts",
    find: "return Math.max(this.#total, this.#top.size);",
    replace: "return this.#total;",
    why: "the reported total can be below the entries held: percentiles above 100 or rank > total",
    tests: [DO],
  },

  // -- Redis scripts (stores/redis/lua.ts) -----------------------------------------------------
  {
    id: "lua.version-guard-not-strict",
    file: "src/stores/redis/lua.ts",
    find: "if sep and tonumber(string.sub(record, 1, sep - 1)) >= tonumber(version) then",
    replace: "if sep and tonumber(string.sub(record, 1, sep - 1)) > tonumber(version) then",
    why: "an apply of the same version rewrites the member (and counts as applied)",
    tests: [REDIS_RANKS, REDIS_GUARDS],
  },
  {
    id: "lua.ready-guard-ignores-watermark",
    file: "src/stores/redis/lua.ts",
    find: "if (tonumber(marker) or 0) < (tonumber(ARGV[#ARGV]) or 0) then",
    replace: "if (tonumber(marker) or 0) < 0 then",
    why: "ranks are served from keys that trail writes the reader knows of",
    tests: [REDIS_RANKS, REDIS_GUARDS],
  },
  {
    id: "lua.ready-guard-ignores-lost-keys",
    file: "src/stores/redis/lua.ts",
    find: "if redis.call('ZCARD', KEYS[1]) ~= redis.call('HLEN', KEYS[2]) then\n  return redis.error_reply",
    replace: "if false then\n  return redis.error_reply",
    why: "ranks are served from a board-period whose ZSET or HASH was partly evicted",
    tests: [REDIS_RANKS, REDIS_GUARDS],
  },

  // -- ranking and operators (domain/) ---------------------------------------------------------
  {
    id: "ranking.tie-break-reversed",
    file: "src/domain/ranking.ts",
    find: "if (a.reachedAt !== b.reachedAt) return a.reachedAt < b.reachedAt ? -1 : 1;",
    replace: "if (a.reachedAt !== b.reachedAt) return a.reachedAt < b.reachedAt ? 1 : -1;",
    why: "among equal scores the later player ranks first",
    tests: ["test/domain/ranking.test.ts"],
  },
  {
    id: "ranking.percentile-off-by-one",
    file: "src/domain/ranking.ts",
    find: "return ((total - rank + 1) / total) * 100;",
    replace: "return ((total - rank) / total) * 100;",
    why: "the first player is not at the 100th percentile",
    tests: ["test/domain/ranking.test.ts"],
  },
  {
    id: "ranking.cursor-inclusive",
    file: "src/domain/ranking.ts",
    find: "return compareEntries(sortOrder)(entry, cursor) > 0;",
    replace: "return compareEntries(sortOrder)(entry, cursor) >= 0;",
    why: "the cursor's own entry repeats at the top of the next page",
    tests: ["test/domain/ranking.test.ts"],
  },
  {
    id: "operators.best-tie-keeps-later",
    file: "src/domain/operators.ts",
    find: "if (incoming.score === current.score && incoming.occurredAt < current.reachedAt) {",
    replace: "if (incoming.score === current.score && incoming.occurredAt > current.reachedAt) {",
    why: "an equal best score moves the record's time later, losing the tie-break",
    tests: ["test/domain/operators.test.ts"],
  },
  {
    id: "operators.latest-accepts-older",
    file: "src/domain/operators.ts",
    find: "if (incoming.occurredAt > current.reachedAt) {",
    replace: "if (incoming.occurredAt >= current.reachedAt - 1) {",
    why: "an event older than the latest one still replaces it",
    tests: ["test/domain/operators.test.ts"],
  },

  // -- periods (domain/periods.ts) -------------------------------------------------------------
  {
    id: "periods.sunday-week-shift",
    file: "src/domain/periods.ts",
    find: 'return isoWeekOf(weekStart === "sunday" ? days + 1 : days);',
    replace: 'return isoWeekOf(weekStart === "sunday" ? days - 1 : days);',
    why: "a Sunday-start board files Sunday's scores in the previous week",
    tests: ["test/domain/periods.test.ts"],
  },
  {
    id: "periods.day-past-month-end",
    file: "src/domain/periods.ts",
    find: "if (day < 1 || day > daysInMonth(year, month)) return null;",
    replace: "if (day < 1 || day > 31) return null;",
    why: "a daily key such as 2026-02-30 is accepted",
    tests: ["test/domain/periods.test.ts"],
  },
  {
    id: "periods.week-53-always",
    file: "src/domain/periods.ts",
    find: "if (!inYearRange(year) || week < 1 || week > isoWeeksInYear(year)) return null;",
    replace: "if (!inYearRange(year) || week < 1 || week > 53) return null;",
    why: "week 53 of a 52-week year is accepted as a key",
    tests: ["test/domain/periods.test.ts"],
  },

  // -- auth (services/access/, domain/caller.ts) -----------------------------------------------
  {
    id: "auth.digest-length-only",
    file: "src/services/access/server-keys.ts",
    find: "return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);",
    replace: "return x.byteLength === y.byteLength;",
    why: "any key or admin secret of the right length is accepted (the digests always are)",
    tests: [CREDENTIALS, MATRIX],
  },
  {
    id: "auth.scope-ignored",
    file: "src/domain/caller.ts",
    find: 'return caller.kind === "key" && caller.scopes.includes(scope);',
    replace: 'return caller.kind === "key";',
    why: "a server key may do what its scopes do not allow",
    tests: [MATRIX],
  },
  {
    id: "auth.token-expiry-extended",
    file: "src/services/access/player-tokens.ts",
    find: "return (exp ?? 0) * 1000;",
    replace: "return (exp ?? 0) * 1000 + 3_600_000;",
    why: "a verified player token stays accepted from the isolate's cache an hour past its expiry",
    tests: [CREDENTIALS],
  },

  // -- edge cache (stores/cache/) --------------------------------------------------------------
  {
    id: "cache.etag-list-first-only",
    file: "src/stores/cache/pages.ts",
    find: 'return ifNoneMatch.split(",").some(',
    replace: 'return ifNoneMatch.split(",").slice(0, 1).some(',
    why: "If-None-Match with several tags only compares the first: no 304 for the others",
    tests: ["test/routes/page-etags.test.ts", LEADERBOARDS],
  },
  {
    id: "cache.etag-weak-strict",
    file: "src/stores/cache/pages.ts",
    find: 'const bare = (tag: string) => tag.trim().replace(/^W\\//, "");',
    replace: "const bare = (tag: string) => tag.trim();",
    why: 'a weak validator W/"x" no longer matches "x" (RFC 9110 weak comparison)',
    tests: ["test/routes/page-etags.test.ts", LEADERBOARDS],
  },
  {
    id: "swr.fresh-inclusive",
    file: "src/stores/cache/swr.ts",
    find: 'if (age < freshMs) return verdictOf(value, producedAt, "fresh");',
    replace: 'if (age <= freshMs) return verdictOf(value, producedAt, "fresh");',
    why: "an entry exactly freshMs old is served as fresh instead of revalidated",
    tests: ["test/stores/cache/swr.test.ts"],
  },
  {
    id: "swr.stale-window-end",
    file: "src/stores/cache/swr.ts",
    find: "const stale = entry?.value != null && at - entry.fetchedAt < freshMs + staleMs;",
    replace: "const stale = entry?.value != null && at - entry.fetchedAt <= freshMs + staleMs;",
    why: "an entry at the very end of its stale window is still served stale",
    tests: ["test/stores/cache/pages.test.ts", "test/stores/cache/swr.test.ts"],
  },
  {
    id: "swr.stale-if-error-unbounded",
    file: "src/stores/cache/swr.ts",
    find: "if (entry?.value != null && at - entry.producedAt < policy.staleIfErrorMs) {",
    replace: "if (entry?.value != null) {",
    why: "a value of any age is served while the origin fails (no stale-if-error bound)",
    tests: ["test/stores/cache/swr.test.ts"],
  },

  // -- upkeep and operations -------------------------------------------------------------------
  {
    id: "upkeep.drops-wrong-month",
    file: "src/cron/upkeep.ts",
    find: "now.getUTCMonth() - (EVENT_RETENTION_MONTHS - 1), 1)",
    replace: "now.getUTCMonth() - (EVENT_RETENTION_MONTHS - 2), 1)",
    why: "upkeep drops the event partition of a month still inside retention",
    tests: ["test/cron/upkeep-retention.test.ts", "test/cron/upkeep.test.ts"],
  },
  {
    id: "upkeep.drops-day-inside-window",
    file: "src/cron/upkeep.ts",
    find: "-IDEMPOTENCY_WINDOW_DAYS)}::date) as name`",
    replace: "-IDEMPOTENCY_WINDOW_DAYS + 1)}::date) as name`",
    why: "upkeep drops the idempotency day still inside the window: a late retry of its events counts twice",
    tests: ["test/cron/upkeep-retention.test.ts"],
  },
  {
    id: "persist.dedupe-by-received-day",
    file: "src/stores/postgres/persist-batch.ts",
    find: "select event_id, (occurred_at at time zone 'UTC')::date from input order by event_id",
    replace: "select event_id, (received_at at time zone 'UTC')::date from input order by event_id",
    why: "ids keyed by the received day: a client's retry the next day lands in another partition and counts twice",
    tests: ["test/stores/postgres/event-ids.test.ts"],
  },
  {
    id: "resync.cleared-during-reload",
    file: "src/cron/reconcile-ranks.ts",
    find: "await clearRequest(bp, new Date(step.startedAt));",
    replace: "await clearRequest(bp, new Date());",
    why: "a resync requested while the reload ran is cleared though the reload may have missed it",
    tests: ["test/cron/reconcile-ranks.test.ts"],
  },
  {
    id: "stats.accepted-misses-duplicates",
    file: "src/services/operations/ingest-stats.ts",
    find: "      accepted: persisted + duplicates,\n",
    replace: "      accepted: persisted,\n",
    why: "the admin ingest stats report fewer accepted events than the edge accepted",
    tests: ["test/routes/ingest-stats.test.ts", EVENTS],
  },

  // -- HTTP edges: boards, event bounds, read parameters ---------------------------------------
  {
    id: "boards.create-twice-overwrites",
    file: "src/services/boards.ts",
    find: ".onConflictDoNothing({ target: boards.id })\n    .returning();\n  if (!row) {",
    replace:
      ".onConflictDoNothing({ target: boards.id })\n    .returning();\n  if (row === null) {",
    why: "creating a board that exists no longer answers 409 Conflict",
    tests: ["test/routes/boards.test.ts", BOARD_SANITY, LEADERBOARDS],
  },
  {
    id: "boards.view-field-swapped",
    file: "src/services/boards.ts",
    find: "    minScore: board.minScore ?? undefined,\n    maxScore: board.maxScore ?? undefined,\n",
    replace:
      "    minScore: board.minScore ?? undefined,\n    maxScore: board.minScore ?? undefined,\n",
    why: "GET /v1/boards/:id shows minScore as maxScore",
    tests: ["test/routes/boards.test.ts", BOARD_SANITY, LEADERBOARDS],
  },
  {
    id: "boards.archived-takes-events",
    file: "src/services/ingest/event-validation.ts",
    find: '    if (board.archivedAt)\n      return reject(\n        "BOARD_ARCHIVED",',
    replace:
      '    if (board.archivedAt === undefined)\n      return reject(\n        "BOARD_ARCHIVED",',
    why: "an archived board keeps taking scores",
    tests: ["test/routes/board-archive.test.ts"],
  },
  {
    id: "boards.structural-edit-under-records",
    file: "src/services/board-admin.ts",
    find: "if (structural.length > 0 && (await hasRecords(db, id)))",
    replace: "if (structural.length > 0 && !(await hasRecords(db, id)))",
    why: "a scored board's sort order or operator changes, reinterpreting every stored record",
    tests: ["test/routes/board-admin.test.ts"],
  },
  {
    id: "boards.top-size-not-refreshed",
    file: "src/services/board-admin.ts",
    find: "return { board: row, topSizeChanged: row.topSize !== current.topSize };",
    replace: "return { board: row, topSizeChanged: false };",
    why: "a new topSize waits for the next score to reach the board's objects",
    tests: ["test/routes/board-admin.test.ts"],
  },
  {
    id: "events.batch-limit-off-by-one",
    file: "src/routes/events/post-events.ts",
    find: "if (items.length > max) {",
    replace: "if (items.length >= max) {",
    why: "a request of exactly EVENTS_MAX_BATCH events is refused with 413",
    tests: [EVENTS, EVENT_BOUNDS],
  },
  {
    id: "events.max-score-inclusive",
    file: "src/services/ingest/event-validation.ts",
    find: "if (score > hi) return",
    replace: "if (score >= hi) return",
    why: "a score equal to maxScore is refused",
    tests: [EVENTS, EVENT_BOUNDS],
  },
  {
    id: "events.min-score-inclusive",
    file: "src/services/ingest/event-validation.ts",
    find: "if (score < lo) return",
    replace: "if (score <= lo) return",
    why: "a score equal to minScore is refused",
    tests: [EVENTS, EVENT_BOUNDS],
  },
  {
    id: "reads.unknown-period-accepted",
    file: "src/services/leaderboards/period-selection.ts",
    find: "  if (!periods.includes(chosen)) {\n",
    replace: "  if (chosen === undefined) {\n",
    why: "a period the board does not keep is read instead of refused with 400",
    tests: ["test/routes/leaderboard-params.test.ts", LEADERBOARDS, HOSTILE_READS],
  },
  {
    id: "reads.malformed-at-accepted",
    file: "src/services/leaderboards/period-selection.ts",
    find: "const key = resolvePeriodKey(chosen, at, board.timeZone, board.weekStart, now);",
    replace:
      "const key = resolvePeriodKey(chosen, at, board.timeZone, board.weekStart, now) ?? resolvePeriodKey(chosen, undefined, board.timeZone, board.weekStart, now);",
    why: "a malformed ?at= reads the current period instead of answering 400",
    tests: ["test/routes/leaderboard-params.test.ts", LEADERBOARDS, HOSTILE_READS],
  },
  {
    id: "reads.page-limit-unbounded",
    file: "src/routes/leaderboards/schema.ts",
    find: "limit: z.coerce.number().int().min(1).max(100).default(25),",
    replace: "limit: z.coerce.number().int().min(1).default(25),",
    why: "?limit= above 100 is accepted instead of answering 400",
    tests: ["test/routes/leaderboard-params.test.ts", LEADERBOARDS, HOSTILE_READS],
  },
  ...READ_MUTANTS,
  ...WRITE_MUTANTS,
];
