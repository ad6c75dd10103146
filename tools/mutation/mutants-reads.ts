// Mutants of the read path: leaderboard reads, period selection, player ranks, the Postgres and Redis rank queries, the Durable Object's reads, the page cache and the read routes' parameters. The list format and rules are in mutants.ts.
import type { Mutant } from "./mutant.ts";

const PARAMS = "test/routes/leaderboard-params.test.ts";
const LEADERBOARDS = "test/routes/leaderboards.test.ts";
const HOSTILE_READS = "test/routes/hostile-reads.test.ts";
const RANK_SOURCES = "test/services/rank-sources.test.ts";
const DO = "test/objects/leaderboard/leaderboard-do.test.ts";
const PAGINATION = "test/objects/leaderboard/pagination.test.ts";
const SORTED = "test/objects/leaderboard/sorted-entries.test.ts";
const REBUILD = "test/objects/leaderboard/rebuild.test.ts";
const REDIS_RANKS = "test/stores/redis/ranks.test.ts";
const SCORE_BUCKETS = "test/stores/postgres/score-buckets.test.ts";

export const READ_MUTANTS: Mutant[] = [
  // -- read routes: query parameters, cursor, cache key ----------------------------------------
  {
    id: "reads.around-n-unbounded",
    file: "src/routes/leaderboards/get-around.ts",
    find: "z.coerce.number().int().min(0).max(50).default(5)",
    replace: "z.coerce.number().int().min(0).default(5)",
    why: "?n= above 50 is accepted: one around-me request asks for a window of any size",
    tests: [PARAMS, HOSTILE_READS],
  },
  {
    id: "reads.rank-of-score-unsafe",
    file: "src/routes/leaderboards/get-rank-of.ts",
    find:
      '.int("must be an integer")\n        .min(Number.MIN_SAFE_INTEGER)\n' +
      "        .max(Number.MAX_SAFE_INTEGER),",
    replace: '.refine(Number.isInteger, "must be an integer"),',
    why: "?score= beyond the safe integers (1e300, 2^53) is accepted instead of answering 400",
    tests: [PARAMS, HOSTILE_READS],
  },
  {
    id: "reads.page-cache-key-ignores-limit",
    file: "src/routes/leaderboards/get-page.ts",
    find: /\?limit=\$\{query\.limit\}&cursor=/,
    replace: "?cursor=",
    why: "the edge cache serves the page of one ?limit= to a request for another",
    tests: [LEADERBOARDS, "test/routes/page-etags.test.ts"],
  },
  {
    id: "reads.cursor-period-unchecked",
    file: "src/routes/leaderboards/get-page.ts",
    find: "if (query.cursor && (!cursor || cursor.period !== periodKey)) {",
    replace: "if (query.cursor && !cursor) {",
    why: "a cursor of another period (yesterday's page) is accepted and seeks into this one",
    tests: [LEADERBOARDS, HOSTILE_READS],
  },
  {
    id: "reads.default-period-first",
    file: "src/services/leaderboards/period-selection.ts",
    find: 'const chosen = (period ?? (periods.includes("all") ? "all" : periods[0]))',
    replace: "const chosen = (period ?? periods[0])",
    why: "without ?period= a board that keeps all but lists it second is read on its first period",
    tests: [PARAMS, LEADERBOARDS],
  },
  // -- leaderboard reads (services/leaderboards/) ---------------------------------------------
  {
    id: "reads.last-page-has-more",
    file: "src/services/leaderboards/reads.ts",
    find: "hasMore: page.count === options.limit && lastRank < page.total,",
    replace: "hasMore: page.count === options.limit && lastRank <= page.total,",
    why: "a page that ends the board exactly still carries a nextCursor (to an empty page)",
    tests: [LEADERBOARDS, RANK_SOURCES],
  },
  {
    id: "ranks.private-boards-listed",
    file: "src/services/leaderboards/player-ranks.ts",
    find: "[...boards.values()].filter((board) => board.public || includePrivate);",
    replace: "[...boards.values()];",
    why: "a player's rank list shows private boards to callers that may not read them",
    tests: ["test/access/credentials.test.ts"],
  },
  // -- Durable Object reads (objects/leaderboard/) --------------------------------------------
  {
    id: "do.page-cursor-inclusive",
    file: "src/objects/leaderboard/sorted-entries.ts",
    find: "compareKeys(entry, key) <= 0",
    replace: "compareKeys(entry, key) < 0",
    why: "a held page after a cursor starts at the cursor's own row: it repeats across pages",
    tests: [SORTED, PAGINATION, DO],
  },
  {
    id: "do.rank-for-score-past-held",
    file: "src/objects/leaderboard/leaderboard-do.ts",
    find: "withinTop: this.#top.allHeld || ahead < this.#top.size,",
    replace: "withinTop: this.#top.allHeld || ahead <= this.#top.size,",
    why: "a score worse than every held entry is ranked right after them, ignoring players beyond",
    tests: [DO, RANK_SOURCES],
  },
  {
    id: "do.around-short-below",
    file: "src/objects/leaderboard/leaderboard-do.ts",
    find: "viewsOf(this.#top.entries, index - span, index + span + 1)",
    replace: "viewsOf(this.#top.entries, index - span, index + span)",
    why: "the held around-me window has one row fewer below the player than above",
    tests: [DO, RANK_SOURCES],
  },
  // -- Postgres ranks (stores/postgres/) -------------------------------------------------------
  {
    id: "pg.page-first-rank-exclusive",
    file: "src/stores/postgres/ranks.ts",
    find: "(await countBefore(db, boardId, periodKey, after, true)) + 1",
    replace: "(await countBefore(db, boardId, periodKey, after)) + 1",
    why: "a Postgres page after a cursor ranks its first row as the cursor's rank: ranks repeat",
    tests: [RANK_SOURCES, SCORE_BUCKETS],
  },
  {
    id: "pg.around-above-from-top",
    file: "src/stores/postgres/ranks.ts",
    find: "order by s.sort_score desc, s.reached_at desc, s.player_id desc",
    replace: "order by s.sort_score, s.reached_at, s.player_id",
    why: "the rows above a player come from the top of the board, not just above them",
    tests: [RANK_SOURCES, SCORE_BUCKETS],
  },
  {
    id: "pg.bands-before-inclusive",
    file: "src/stores/postgres/score-bands.ts",
    find: "and b.bucket < score_bucket_of(",
    replace: "and b.bucket <= score_bucket_of(",
    why: "the band of the position is counted whole and again row by row: ranks too large",
    tests: [SCORE_BUCKETS, RANK_SOURCES],
  },
  {
    id: "pg.top-by-raw-score",
    file: "src/stores/postgres/top-entries.ts",
    find: "        order by s.sort_score, s.reached_at, s.player_id\n",
    replace: "        order by s.score, s.reached_at, s.player_id\n",
    why: "a rebuild of a high-score-wins board loads the lowest scores as its top-N",
    tests: [REBUILD, DO],
  },
  {
    id: "rankgate.waiting-off-by-one",
    file: "src/stores/postgres/rank-gate.ts",
    find: "if (this.#waiting.size() >= this.limits.waiting) refuse();",
    replace: "if (this.#waiting.size() > this.limits.waiting) refuse();",
    why: "the Postgres rank gate lets one request more wait than its limit",
    tests: ["test/stores/postgres/rank-gate.test.ts"],
  },
  // -- Redis read scripts (stores/redis/lua.ts) ------------------------------------------------
  {
    id: "lua.around-start-unclamped",
    file: "src/stores/redis/lua.ts",
    find: "local start = math.max(0, rank - n)",
    replace: "local start = rank - n",
    why: "near the top the window starts at a negative index: ZRANGE counts it from the end",
    tests: [REDIS_RANKS, RANK_SOURCES],
  },
  {
    id: "lua.for-score-before-ties",
    file: "src/stores/redis/lua.ts",
    find: "redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])",
    replace: "redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])",
    why: "rank-of places a score ahead of the players who already reached it",
    tests: [REDIS_RANKS, RANK_SOURCES],
  },
  // -- domain: periods and cursors -------------------------------------------------------------
  {
    id: "periods.previous-week-is-current",
    file: "src/domain/periods.ts",
    find: "isoWeekOneMonday(parsed.year) + (parsed.week - 1 + delta) * 7;",
    replace: "isoWeekOneMonday(parsed.year) + (parsed.week + delta) * 7;",
    why: "?at=previous on a weekly board reads the current week (every week shift is one off)",
    tests: ["test/domain/periods.test.ts"],
  },
  {
    id: "ranking.cursor-noncanonical",
    file: "src/domain/ranking.ts",
    find: "return encodeCursor(cursor) === raw ? cursor : null;",
    replace: "return cursor;",
    why: "a re-encoded cursor (other padding bits, spaces in its JSON) names the same page twice",
    tests: ["test/domain/ranking.test.ts"],
  },

  // -- live feed (domain/live-protocol.ts, objects/live-relay.ts) -----------------------------
  {
    id: "live.delta-skips-moved-rows",
    file: "src/domain/live-protocol.ts",
    find: "if (old === undefined || !sameRow(old, row)) rows.push(row);",
    replace: "if (old === undefined) rows.push(row);",
    why: "a delta carries only new positions, not rows that changed: clients keep stale scores",
    tests: ["test/domain/live-protocol.test.ts", "test/objects/leaderboard/live-updates.test.ts"],
  },
  {
    id: "live.delta-keeps-dropped-tail",
    file: "src/domain/live-protocol.ts",
    find: "const next = window.slice(0, delta.size);",
    replace: "const next = window.slice();",
    why: "a window that shrank keeps its old last rows on the client",
    tests: ["test/domain/live-protocol.test.ts"],
  },
  {
    id: "relay.capacity-off-by-one",
    file: "src/objects/live-relay.ts",
    find: "if (this.ctx.getWebSockets().length + this.#connecting >= capacity) {",
    replace: "if (this.ctx.getWebSockets().length + this.#connecting > capacity) {",
    why: "a relay takes one socket more than its capacity",
    tests: ["test/objects/live-relay.test.ts"],
  },
];
