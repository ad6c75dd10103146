// Seeding a large board for the read benchmark: Postgres in one INSERT … SELECT, then the Redis
// rank store from those rows, with the worker's own key layout and member encoding.
import { createRequire } from "node:module";
import type { Pool } from "@neondatabase/serverless";
import type { Redis as RedisClient } from "ioredis";
import { rankKeys } from "../../src/stores/redis/keys.ts";
// Both files are pure (no imports), so Node's type stripping loads them as they are: the bench
// writes exactly the keys and members the worker reads.
import { encodeDisplay, encodeMember, encodeMemberRecord } from "../../src/stores/redis/member.ts";
import { fmt } from "./stats.ts";

// ioredis is CommonJS whose module.exports is the class (see tools/local-stack/upstash-bridge.ts).
const Redis = createRequire(import.meta.url)("ioredis") as typeof RedisClient;

/**
 * The worker's REDIS_KEY_PREFIX in development (wrangler.toml [vars]): the keys the benchmarks seed
 * and delete.
 */
export const DEV_REDIS_PREFIX = "eb:dev:";
/** Distinct scores on the seeded board: 1,000,000 players share 100,000 values, ~10 per tie. */
export const SEED_DISTINCT_SCORES = 100_000;
/** Rows read from Postgres per keyset query while filling Redis. */
const READ_CHUNK = 50_000;
/** Members per ZADD / fields per HSET; one pipeline per chunk read. */
const REDIS_COMMAND_SIZE = 1_000;

export interface SeededPlayer {
  playerId: string;
  /** 1-based rank in board order (sort_score, reached_at, player_id). */
  rank: number;
}

/** A board row as the worker reads it (desc, best, all-time only). */
export async function insertBoard(pool: Pool, boardId: string, topSize: number): Promise<void> {
  await pool.query(
    "insert into boards (id, name, sort_order, operator, periods, top_size) values ($1, $1, 'desc', 'best', '{all}', $2)",
    [boardId, topSize],
  );
}

/**
 * `players` scores on (boardId, 'all') in ONE statement: ids p0000001…, scores with many ties,
 * sort_score = -score, reached_at spread over the day before `since`, version 1; then VACUUM
 * ANALYZE and a CHECKPOINT. Prints the table's size on disk while the statement runs (it has no
 * progress view of its own).
 */
export async function seedScores(
  pool: Pool,
  boardId: string,
  players: number,
  say: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  const since = new Date(Date.now() - 86_400_000).toISOString();
  let watching = true;
  let wake = () => {};
  const watcher = (async () => {
    while (watching) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 4_000);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      if (!watching) break;
      const size = await pool
        .query<{ bytes: string }>("select pg_total_relation_size('scores')::text as bytes")
        .then((r) => Number(r.rows[0]?.bytes ?? 0))
        .catch(() => Number.NaN);
      say(
        `  seeding Postgres: ${fmt(size / 1_048_576)} MB of table and indexes written (${fmt((performance.now() - started) / 1000)} s)`,
      );
    }
  })();
  try {
    await pool.query(
      `insert into scores (board_id, period_key, player_id, score, sort_score, reached_at, version)
       select $1, 'all', 'p' || lpad(g.i::text, 7, '0'), g.s, 0 - g.s,
              $2::timestamptz + ((g.i * 48271) % 86400000) * interval '1 millisecond', 1
       from (select i::bigint as i, ((i::bigint * 7919) % 1000003) % $4 as s from generate_series(1, $3::int) as i) as g`,
      [boardId, since, players, SEED_DISTINCT_SCORES],
    );
  } finally {
    watching = false;
    wake();
    await watcher;
  }
  say(
    `  seeding Postgres: ${fmt(players)} rows inserted in ${fmt((performance.now() - started) / 1000, 1)} s; vacuum and analyze …`,
  );
  // VACUUM as autovacuum would have by then: it sets the visibility map, without which every rank
  // count (an index-only scan) also reads the heap, and the Postgres fallback would look slower
  // than a settled production table.
  await pool.query("vacuum (analyze) scores");
  // Flush the seed's dirty pages now: otherwise the checkpointer writes them out over the next few
  // minutes (checkpoint_completion_target), in the middle of the first measured runs.
  await pool.query("checkpoint").catch((error: unknown) => {
    say(
      `  CHECKPOINT refused (${(error as Error).message}): the first runs may share the machine with Postgres writing the seed out`,
    );
  });
}

/** Opens a client on REDIS_URL, failing with what to do when it cannot be reached. */
export async function openRedisClient(redisUrl: string): Promise<RedisClient> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  redis.on("error", () => {}); // reported by connect() below / the failing command
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `cannot reach Redis at ${redisUrl} (${(error as Error).message}): start redis-server or fix REDIS_URL`,
    );
  }
  return redis;
}

/**
 * Copies the board's rows into the Redis rank store (ZSET score = sortScore, member =
 * `${13-digit reachedAt}:${playerId}`; HASH playerId → `${version}|${member}`; HASH playerId →
 * display fields; the ready marker last), reading Postgres in
 * rank order by keyset chunks. Returns every `sampleEvery`-th player ranked beyond `beyondRank`,
 * with its rank, for lookups whose answer is known.
 */
export async function seedRedis(opts: {
  pool: Pool;
  redis: RedisClient;
  prefix: string;
  boardId: string;
  beyondRank: number;
  sampleEvery: number;
  say: (line: string) => void;
}): Promise<{ rows: number; samples: SeededPlayer[] }> {
  const keys = rankKeys(opts.prefix, opts.boardId, "all");
  await opts.redis.del(keys.z, keys.m, keys.d);
  const samples: SeededPlayer[] = [];
  const started = performance.now();
  let rows = 0;
  let after: { sortScore: string; reachedAtMs: string; playerId: string } | undefined;
  let lastReport = 0;
  for (;;) {
    // Text aliases must not shadow the columns: ORDER BY would sort the text.
    const result = await opts.pool.query<{
      player_id: string;
      ss: string;
      ms: string;
      v: string;
      display_name: string | null;
      metadata: Record<string, unknown> | null;
    }>(
      `select s.player_id, s.sort_score::text as ss, (extract(epoch from s.reached_at) * 1000)::bigint::text as ms, s.version::text as v,
         p.display_name, s.metadata
       from scores s left join players p on p.id = s.player_id
       where s.board_id = $1 and s.period_key = 'all'
         ${after ? "and (s.sort_score, s.reached_at, s.player_id) > ($3::bigint, timestamptz 'epoch' + $4::bigint * interval '1 millisecond', $5)" : ""}
       order by s.sort_score, s.reached_at, s.player_id
       limit $2`,
      after
        ? [opts.boardId, READ_CHUNK, after.sortScore, after.reachedAtMs, after.playerId]
        : [opts.boardId, READ_CHUNK],
    );
    if (result.rows.length === 0) break;
    const pipeline = opts.redis.pipeline();
    for (let i = 0; i < result.rows.length; i += REDIS_COMMAND_SIZE) {
      const zadd: string[] = [];
      const hset: string[] = [];
      const display: string[] = [];
      for (const row of result.rows.slice(i, i + REDIS_COMMAND_SIZE)) {
        const member = encodeMember(Number(row.ms), row.player_id);
        zadd.push(row.ss, member);
        hset.push(row.player_id, encodeMemberRecord(Number(row.v), member));
        const fields = encodeDisplay({ displayName: row.display_name, metadata: row.metadata });
        if (fields !== "") display.push(row.player_id, fields);
      }
      pipeline.zadd(keys.z, ...zadd);
      pipeline.hset(keys.m, ...hset);
      if (display.length > 0) pipeline.hset(keys.d, ...display);
    }
    const replies = await pipeline.exec();
    const failed = replies?.find(([error]) => error);
    if (failed)
      throw new Error(
        `Redis refused the seed pipeline (${(failed[0] as Error).message}): check REDIS_URL and the server's memory`,
      );
    for (const row of result.rows) {
      rows += 1;
      if (rows > opts.beyondRank && rows % opts.sampleEvery === 0)
        samples.push({ playerId: row.player_id, rank: rows });
    }
    const last = result.rows.at(-1) as (typeof result.rows)[number];
    after = { sortScore: last.ss, reachedAtMs: last.ms, playerId: last.player_id };
    if (rows - lastReport >= 200_000) {
      lastReport = rows;
      opts.say(
        `  seeding Redis: ${fmt(rows)} players (${fmt((performance.now() - started) / 1000, 1)} s)`,
      );
    }
  }
  const [zcard, hlen] = await Promise.all([opts.redis.zcard(keys.z), opts.redis.hlen(keys.m)]);
  if (zcard !== rows || hlen !== rows) {
    throw new Error(
      `Redis holds ${zcard} members / ${hlen} hash fields after seeding ${rows} rows: another process is writing ${keys.z}; run again`,
    );
  }
  // Loaded whole from Postgres, as the reconciliation cron's reload would: readers may use it.
  await opts.redis.set(keys.ready, String(Date.now()));
  return { rows, samples };
}

/** Removes every key of the board's rank store (live and abandoned rebuild keys). */
export async function deleteBoardKeys(
  redis: RedisClient,
  prefix: string,
  boardId: string,
): Promise<number> {
  const keys = rankKeys(prefix, boardId, "all");
  // The hash tag is `{board/period}`: match every period of this board, and their :tmp: keys.
  const pattern = `${keys.z.slice(0, keys.z.indexOf("{") + 1)}${boardId.replace(/[*?[\]\\]/g, "\\$&")}/*`;
  let cursor = "0";
  let deleted = 0;
  do {
    const [nextCursor, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = nextCursor;
    if (found.length > 0) deleted += await redis.unlink(...found);
  } while (cursor !== "0");
  return deleted;
}
