import assert from "node:assert/strict";
import { Pool } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis";
import {
  configureNeonForNode,
  createTestDatabase,
  dropDatabase,
  type LocalStack,
  startLocalStack,
} from "./index.ts";

// Self-test of the local stack through the production clients (Neon driver, @upstash/redis):
//   node tools/local-stack/check.ts                      embedded PGlite (in memory)
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 node tools/local-stack/check.ts
// Run it after touching tools/local-stack/ or upgrading @upstash/redis, ioredis, PGlite or the Neon
// driver.

const say = (line: string): void => console.log(`[check] ${line}`);

async function checkPostgres(stack: LocalStack): Promise<void> {
  let databaseUrl = stack.databaseUrl;
  const scratch = `local_stack_check_${process.pid}`;
  if (!stack.embedded) {
    databaseUrl = await createTestDatabase(stack.databaseUrl, stack.neonWsProxy, scratch);
    say(`created database ${scratch}`);
  }
  configureNeonForNode(stack.neonWsProxy);
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  pool.on("error", () => {});
  try {
    await pool.query("create table t (id int primary key, v text)");

    // Many connections, parameterised queries (extended protocol), some failing mid-sequence:
    // replies must never cross connections and an error must not wedge anyone.
    let failures = 0;
    await Promise.all(
      Array.from({ length: 600 }, async (_, i) => {
        if (i % 5 === 0) {
          await assert.rejects(
            pool.query("select 1 / ($1::int - $1::int)", [i]),
            /division by zero/,
          );
          failures++;
          return;
        }
        const { rows } = await pool.query("select $1::int as i, $2::text as s", [i, `é${i}🎉`]);
        assert.deepEqual(rows[0], { i, s: `é${i}🎉` });
      }),
    );
    say(`postgres: 600 concurrent queries on 10 connections, ${failures} expected errors: ok`);

    // Interleaved transactions: half commit, half roll back.
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const client = await pool.connect();
        try {
          await client.query("begin");
          await client.query("insert into t values ($1, $2)", [i, `v${i}`]);
          assert.equal(
            (await client.query("select v from t where id = $1", [i])).rows[0]?.v,
            `v${i}`,
          );
          await client.query(i % 2 ? "rollback" : "commit");
        } finally {
          client.release();
        }
      }),
    );
    assert.equal((await pool.query("select count(*)::int as n from t")).rows[0]?.n, 30);
    say("postgres: 60 interleaved transactions: ok");

    // A client that vanishes inside a transaction must not leave it open for the others.
    const quitter = await pool.connect();
    await quitter.query("begin");
    await quitter.query("insert into t values (1000, $1)", ["never"]);
    quitter.release(true);
    const { rows } = await pool.query("select count(*)::int as n from t where id = 1000");
    assert.equal(rows[0]?.n, 0);
    say("postgres: connection dropped mid-transaction is rolled back: ok");

    // Large result through the WebSocket bridge (backpressure path).
    const big = await pool.query("select repeat('x', 1000) as s from generate_series(1, 5000)");
    assert.equal(big.rows.length, 5000);
    say("postgres: 5 MB result: ok");
  } finally {
    await pool.end();
    if (!stack.embedded) {
      await dropDatabase(stack.databaseUrl, stack.neonWsProxy, scratch);
      say(`dropped database ${scratch}`);
    }
  }
}

async function checkUpstash(upstash: { url: string; token: string }): Promise<void> {
  const redis = new Redis({ url: upstash.url, token: upstash.token });
  const k = `local-stack-check:${process.pid}:`;
  try {
    assert.equal(await redis.set(`${k}s`, "héllo 🎉 ✓"), "OK");
    assert.equal(await redis.get(`${k}s`), "héllo 🎉 ✓");

    await redis.zadd(`${k}z`, { score: 5, member: "alice" }, { score: 3, member: "bob" });
    assert.equal(
      await redis.zadd(`${k}z`, { gt: true, ch: true }, { score: 1, member: "alice" }),
      0,
    );
    assert.equal(
      await redis.zadd(`${k}z`, { gt: true, ch: true }, { score: 9, member: "alice" }),
      1,
    );
    assert.deepEqual(await redis.zrange(`${k}z`, 0, -1, { rev: true, withScores: true }), [
      "alice",
      9,
      "bob",
      3,
    ]);
    assert.equal(await redis.zrevrank(`${k}z`, "bob"), 1);
    assert.equal(await redis.zrevrank(`${k}z`, "nobody"), null);
    assert.equal(await redis.zscore(`${k}z`, "alice"), 9);

    await redis.hset(`${k}h`, { a: 1, b: "two", emoji: "🎉" });
    assert.deepEqual(await redis.hgetall(`${k}h`), { a: 1, b: "two", emoji: "🎉" });

    const p = redis.pipeline();
    p.incr(`${k}n`);
    p.incrby(`${k}n`, 5);
    p.type(`${k}h`);
    assert.deepEqual(await p.exec(), [1, 6, "hash"]);

    const m = redis.multi();
    m.set(`${k}m`, "x");
    m.get(`${k}m`);
    m.incr(`${k}h`); // WRONGTYPE inside the transaction: reported for that command only
    const results = await m.exec({ keepErrors: true });
    assert.equal(results[1]?.result, "x");
    assert.match(String(results[2]?.error), /WRONGTYPE/);

    await assert.rejects(redis.incr(`${k}h`), /WRONGTYPE/);
    await assert.rejects(
      new Redis({ url: upstash.url, token: "wrong", retry: false }).get(`${k}s`),
      /Unauthorized/,
    );
    say("upstash: strings, unicode, sorted sets, hashes, pipeline, multi, errors, auth: ok");
  } finally {
    await redis.del(`${k}s`, `${k}z`, `${k}h`, `${k}n`, `${k}m`);
  }
}

const stack = await startLocalStack({
  databaseUrl: process.env.DATABASE_URL || undefined,
  pgliteDataDir: "memory://",
  redisUrl: process.env.REDIS_URL || undefined,
  log: say,
});
try {
  await checkPostgres(stack);
  if (stack.upstash) await checkUpstash(stack.upstash);
  say("all checks passed");
} catch (err) {
  process.exitCode = 1;
  console.error(err);
} finally {
  await stack.stop();
}
