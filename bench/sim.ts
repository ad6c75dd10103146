// `npm run sim`: what a million daily players would ask of each shared part, measured on the
// local stack and scaled to production. Each request type of the traffic mix runs on its own
// against a seeded board (so its costs are its own): Durable Object calls, Upstash round trips
// and commands (counted by the local Upstash bridge), Postgres queries; then single-score writes
// through the queue (batches, statements, object applies, page purges per event). The
// costs per request times the production rates of docs/capacity.md give each part's load at 1M
// and 10M daily players, printed next to its documented limit.
//   DATABASE_URL (required: a real Postgres)   REDIS_URL (required)
//   SIM_PLAYERS (default 50000)   SIM_REQUESTS (per read type, default 300)
//   SIM_EVENTS (single-score writes, default 400)   SIM_SOCKETS (live sockets, default 40; relays
//   of SIM_RELAY_CAPACITY, default 10, stand for production's 2,000)
import type { Pool } from "@neondatabase/serverless";
import type { Redis as RedisClient } from "ioredis";
import {
  createTestDatabase,
  dropDatabase,
  type LocalStack,
  startLocalStack,
  withDatabase,
} from "../tools/local-stack/index.ts";
import { runMigrations } from "../tools/migrate.ts";
import {
  DEV_REDIS_PREFIX,
  deleteBoardKeys,
  insertBoard,
  openRedisClient,
  seedRedis,
  seedScores,
} from "./lib/seed-board.ts";
import { fmt, runPool } from "./lib/stats.ts";
import { startWorkerdServer, type WorkerdServer } from "./lib/workerd.ts";

const PLAYERS = Number(process.env.SIM_PLAYERS ?? 50_000);
const REQUESTS = Number(process.env.SIM_REQUESTS ?? 300);
const EVENTS = Number(process.env.SIM_EVENTS ?? 400);
const SOCKETS = Number(process.env.SIM_SOCKETS ?? 40);
const RELAY_CAPACITY = Number(process.env.SIM_RELAY_CAPACITY ?? 10);
/** wrangler.toml's relay capacity and fan-out in staging and production. */
const PRODUCTION_RELAY = { capacity: 2_000, fanout: 32, pushesPerSecond: 4 };
const TOP_SIZE = 1_000;
const ADMIN_KEY = "sim-admin-key";
const runId = `${Date.now().toString(36)}_${process.pid}`;
const BOARD = `sim-global-${runId}`;

const say = (line: string) => console.log(`[sim] ${line}`);

/**
 * Production at 1M daily players (docs/capacity.md, "Load model"): peak requests per second by
 * type, everyone on one global board. 10M is ten times each.
 */
const PEAK_1M = {
  page: 7_000,
  rank: 1_200,
  around: 800,
  friends: 600,
  rankForScore: 200,
  events: 1_000,
};

/**
 * Share of a player's own reads (rank, around-me, friends) about players near the top (within
 * twice the top-N): 2,000 of a million players, taken as ten times as active as the rest.
 */
const NEAR_SHARE = 0.02;

/** The documented limits each load is compared with (sources in docs/capacity.md). */
const LIMITS = {
  objectRequestsPerSecond: 1_000,
  upstashCommandsPerSecond: 10_000,
  queueMessagesPerSecond: 5_000,
  neonConnections: 839,
};

interface Costs {
  requests: number;
  objectCalls: number;
  upstashRequests: number;
  upstashCommands: number;
  /** Queries the read services sent to Postgres (their own count: Postgres' statistics lag). */
  postgresQueries: number;
}

type Metrics = Record<string, number>;

async function metrics(server: WorkerdServer): Promise<Metrics> {
  const res = await fetch(`${server.base}/v1/admin/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  if (!res.ok) throw new Error(`GET /v1/admin/metrics answered ${res.status}`);
  return (await res.json()) as Metrics;
}

/** The bridge's count of requests naming `text` (tools/local-stack/upstash-bridge.ts). */
async function watch(server: WorkerdServer, text: string) {
  if (!server.upstash) throw new Error("the worker has no Upstash bridge: set REDIS_URL");
  const { url, token } = server.upstash;
  const at = `${url}/__bridge/watches/${encodeURIComponent(text)}`;
  const call = async (method: string) => {
    const res = await fetch(at, { method, headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`bridge watch ${method}: ${res.status}`);
    return (await res.json()) as { requests: number; commands: number };
  };
  await call("PUT");
  return { read: () => call("GET"), stop: () => call("DELETE") };
}

/** Runs `count` requests (8 in flight) and returns what they cost the shared parts. */
async function measure(
  ctx: { server: WorkerdServer },
  count: number,
  request: (i: number) => Promise<void>,
): Promise<Costs> {
  const before = await metrics(ctx.server);
  const counter = await watch(ctx.server, BOARD);
  await runPool(count, 8, request);
  await settle();
  const upstash = await counter.read();
  await counter.stop();
  const after = await metrics(ctx.server);
  return {
    requests: count,
    objectCalls: (after.doReads ?? 0) - (before.doReads ?? 0),
    upstashRequests: upstash.requests,
    upstashCommands: upstash.commands,
    postgresQueries: (after.postgresReads ?? 0) - (before.postgresReads ?? 0),
  };
}

/** The background work of the last requests (Redis writes, purges) lands within this. */
const settle = () => new Promise((r) => setTimeout(r, 1_500));

async function expectOk(res: Response, what: string): Promise<void> {
  if (res.status !== 200 && res.status !== 202) {
    throw new Error(`${what} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  }
  await res.arrayBuffer();
}

const per = (c: Costs, key: keyof Costs) => c[key] / Math.max(1, c.requests);

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!adminUrl || !redisUrl) {
    say(
      "needs a real Postgres and Redis, e.g.\n" +
        "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run sim",
    );
    process.exit(2);
  }
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    const stack: LocalStack = await startLocalStack({ databaseUrl: adminUrl, log: () => {} });
    cleanups.push(() => stack.stop());
    const database = `edgeboard_sim_${runId}`;
    const dbUrl = await createTestDatabase(adminUrl, stack.neonWsProxy, database);
    cleanups.push(() => dropDatabase(adminUrl, stack.neonWsProxy, database));
    await runMigrations({ databaseUrl: dbUrl, neonWsProxy: stack.neonWsProxy, log: () => {} });
    const redis: RedisClient = await openRedisClient(redisUrl);
    cleanups.push(async () => redis.quit());
    cleanups.push(() => deleteBoardKeys(redis, DEV_REDIS_PREFIX, BOARD));

    say(`seeding ${fmt(PLAYERS)} players on one global board (top ${fmt(TOP_SIZE)}) …`);
    const samples = await withDatabase(dbUrl, stack.neonWsProxy, async (pool: Pool) => {
      await insertBoard(pool, BOARD, TOP_SIZE);
      await seedScores(pool, BOARD, PLAYERS, say);
      const seeded = await seedRedis({
        pool,
        redis,
        prefix: DEV_REDIS_PREFIX,
        boardId: BOARD,
        beyondRank: TOP_SIZE * 2,
        sampleEvery: Math.max(1, Math.floor(PLAYERS / 2_000)),
        say,
      });
      return seeded.samples;
    });
    if (samples.length === 0) throw new Error("SIM_PLAYERS is too small to rank beyond the top-N");

    say("starting the worker on workerd …");
    process.env.WRANGLER_LOG = "log";
    process.env.WORKERD_VARS = JSON.stringify({ LIVE_RELAY_CAPACITY: String(RELAY_CAPACITY) });
    const server = await startWorkerdServer(
      { BENCH_DATABASE_URL: dbUrl, REDIS_URL: redisUrl, ADMIN_KEY },
      say,
    );
    cleanups.push(() => server.stop());

    const results = await (async () => {
      const ctx = { server };
      const base = `${server.base}/v1/leaderboards/${BOARD}`;
      const player = (i: number) => samples[i % samples.length]?.playerId ?? "p0000001";
      const get = (path: string) => async () => expectOk(await fetch(`${base}${path}`), path);
      // Warm: the object's first read rebuilds it; the scripts load once.
      for (const path of ["", `/players/${player(0)}`, `/players/${player(1)}/around?n=5`]) {
        await get(path)();
      }
      // Players near the top, whose reads Redis answers as well (the object only when it cannot).
      const top = (await (await fetch(`${base}?limit=100`)).json()) as {
        entries: Array<{ playerId: string }>;
      };
      const near = top.entries.map((e) => e.playerId);
      say(`measuring each read type, ${REQUESTS} requests each …`);
      const costs = {
        page: await measure(ctx, REQUESTS, (i) => get(`?limit=${[10, 25, 100][i % 3]}`)()),
        rank: await measure(ctx, REQUESTS, (i) => get(`/players/${player(i)}`)()),
        around: await measure(ctx, REQUESTS, (i) => get(`/players/${player(i)}/around?n=5`)()),
        friends: await measure(ctx, REQUESTS, async (i) => {
          const ids = Array.from({ length: 10 }, (_, k) => player(i * 10 + k));
          await expectOk(
            await fetch(`${base}/players`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ playerIds: ids }),
            }),
            "friends",
          );
        }),
        rankForScore: await measure(ctx, REQUESTS, (i) => get(`/rank-of?score=${i % 500}`)()),
        rankNear: await measure(ctx, REQUESTS, (i) => get(`/players/${near[i % near.length]}`)()),
      };

      say(`sending ${EVENTS} single-score writes through the queue …`);
      const before = await metrics(server);
      const counter = await watch(server, BOARD);
      const firstLine = server.lines.length;
      await runPool(EVENTS, 8, async (i) => {
        const event = {
          id: crypto.randomUUID(),
          type: "score",
          playerId: player(i * 7),
          occurredAt: new Date().toISOString(),
          boardId: BOARD,
          score: 1_000_000 + i,
        };
        await expectOk(
          await fetch(`${server.base}/v1/events`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              authorization: `Bearer ${ADMIN_KEY}`,
            },
            body: JSON.stringify({ events: [event] }),
          }),
          "POST /v1/events",
        );
      });
      // Durable: every event counted in the consumer's batch lines.
      const deadline = Date.now() + 60_000;
      const batches = () =>
        server.lines
          .slice(firstLine)
          .filter((l) => l.includes('"consumer: batch"'))
          .map(
            (l) =>
              JSON.parse(l.slice(l.indexOf("{"))) as {
                size: number;
                queue: string;
                statements: number;
              },
          )
          .filter((b) => b.queue.endsWith("score-events"));
      while (batches().reduce((a, b) => a + b.size, 0) < EVENTS && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
      }
      await settle();
      const upstash = await counter.read();
      await counter.stop();
      const after = await metrics(server);
      const writes = {
        events: EVENTS,
        batches: batches().length,
        statements: batches().reduce((a, b) => a + b.statements, 0),
        objectApplies: (after.doApplies ?? 0) - (before.doApplies ?? 0),
        purges: (after.pagePurges ?? 0) - (before.pagePurges ?? 0),
        upstashRequests: upstash.requests,
        upstashCommands: upstash.commands,
      };
      const live = await measureLive(server, player);
      return { costs, writes, live };
    })();

    report(results.costs, results.writes, results.live);
  } finally {
    await cleanup();
  }
}

interface LiveCounts {
  sockets: number;
  relays: number;
  objectSockets: number;
  /** Pushes the board's object made for one update: one per subscribed relay. */
  pushesPerUpdate: number;
}

/** Opens SOCKETS live sockets, sends one top score, and reads the board object's own counts. */
async function measureLive(
  server: WorkerdServer,
  player: (i: number) => string,
): Promise<LiveCounts> {
  say(`opening ${SOCKETS} live sockets (relays of ${RELAY_CAPACITY}) …`);
  const url = `${server.base.replace(/^http/, "ws")}/v1/leaderboards/${BOARD}/live?limit=10`;
  const sockets: WebSocket[] = [];
  const updated = new Set<number>();
  await Promise.all(
    Array.from(
      { length: SOCKETS },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(url);
          sockets.push(ws);
          ws.onmessage = (message) => {
            const type = (JSON.parse(String(message.data)) as { type: string }).type;
            if (type === "snapshot") resolve();
            else if (type === "delta" || type === "update") updated.add(i);
          };
          ws.onerror = () => reject(new Error(`live socket ${i} failed`));
        }),
    ),
  );
  const objectStats = async () => {
    const res = await fetch(`${server.base}/v1/admin/leaderboards/${BOARD}/object`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    if (!res.ok) throw new Error(`the object's stats answered ${res.status}`);
    return (await res.json()) as { relays: number; relayPushes: number; sockets: number };
  };
  const before = await objectStats();
  await expectOk(
    await fetch(`${server.base}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({
        events: [
          {
            id: crypto.randomUUID(),
            type: "score",
            playerId: player(3),
            occurredAt: new Date().toISOString(),
            boardId: BOARD,
            score: 2_000_000_000,
          },
        ],
      }),
    }),
    "POST /v1/events",
  );
  const deadline = Date.now() + 20_000;
  while (updated.size < SOCKETS && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (updated.size < SOCKETS) say(`  only ${updated.size} of ${SOCKETS} sockets got the update`);
  const after = await objectStats();
  for (const ws of sockets) ws.close(1000);
  return {
    sockets: SOCKETS,
    relays: after.relays,
    objectSockets: after.sockets,
    pushesPerUpdate: after.relayPushes - before.relayPushes,
  };
}

function report(
  costs: Record<keyof Omit<typeof PEAK_1M, "events"> | "rankNear", Costs>,
  writes: {
    events: number;
    batches: number;
    statements: number;
    objectApplies: number;
    purges: number;
    upstashRequests: number;
    upstashCommands: number;
  },
  live: LiveCounts,
): void {
  console.log("");
  say("measured per request (local stack)");
  say("  type            object calls   Upstash round trips   Upstash commands   Postgres queries");
  for (const [type, c] of Object.entries(costs)) {
    say(
      `  ${type.padEnd(15)} ${fmt(per(c, "objectCalls"), 3).padStart(12)} ${fmt(per(c, "upstashRequests"), 3).padStart(21)} ${fmt(per(c, "upstashCommands"), 3).padStart(18)} ${fmt(per(c, "postgresQueries"), 3).padStart(13)}`,
    );
  }
  const e = writes.events;
  say(
    `  one score (of ${e}): ${fmt(writes.batches)} consumer batches (${fmt(e / Math.max(1, writes.batches), 1)} events each), ` +
      `${fmt(writes.statements / e, 3)} Postgres statements/event, ${fmt(writes.objectApplies / e, 3)} object applies/event, ` +
      `${fmt(writes.upstashRequests / e, 3)} Upstash round trips and ${fmt(writes.upstashCommands / e, 3)} commands/event, ` +
      `${fmt(writes.purges / Math.max(1, writes.batches), 2)} page purges/batch`,
  );

  say(
    `  live: ${live.sockets} sockets over ${live.relays} relays (at most ${RELAY_CAPACITY} each), ` +
      `${live.objectSockets} on the board's object; ${live.pushesPerUpdate} pushes by the object per update`,
  );

  // Live viewers: 10,000-30,000 sockets at 1M (docs/capacity.md); relays of 2,000, the object
  // feeding at most `fanout` of them, each update pushed at most ~4 times a second.
  const relaysFor = (sockets: number) =>
    2 ** Math.ceil(Math.log2(Math.max(1, sockets / PRODUCTION_RELAY.capacity)));
  const objectPushes = (sockets: number) =>
    Math.min(relaysFor(sockets), PRODUCTION_RELAY.fanout) * PRODUCTION_RELAY.pushesPerSecond;
  // Production: page reads are Workers Cache hits (no Worker run); the Worker sees a page miss
  // per purge per page variant, and a purge per consumer batch. Batches at peak: the queue fills
  // 100-event batches (max_batch_size) at 1,000 events/s.
  const scale = (dau: number) => {
    const k = dau / 1_000_000;
    const readTypes = ["rank", "around", "friends", "rankForScore"] as const;
    const batchesPerSecond = (PEAK_1M.events * k) / 100;
    const pageMisses = batchesPerSecond * 3; // limits 10, 25 and 100 per board-period
    // The measured read types ask about players far down; NEAR_SHARE of a player's own reads
    // are by players near the top, at rankNear's measured cost.
    const playerReads = (PEAK_1M.rank + PEAK_1M.around + PEAK_1M.friends) * k;
    const objectReads =
      readTypes.reduce((sum, t) => sum + PEAK_1M[t] * k * per(costs[t], "objectCalls"), 0) +
      playerReads * NEAR_SHARE * per(costs.rankNear, "objectCalls") +
      pageMisses;
    const objectApplies = batchesPerSecond;
    const upstash =
      readTypes.reduce((sum, t) => sum + PEAK_1M[t] * k * per(costs[t], "upstashCommands"), 0) +
      PEAK_1M.events * k * (writes.upstashCommands / e);
    const postgres =
      readTypes.reduce((sum, t) => sum + PEAK_1M[t] * k * per(costs[t], "postgresQueries"), 0) +
      PEAK_1M.events * k * (writes.statements / e);
    // Live viewers: 30,000 sockets at 1M; the object pushes each update to its relays.
    const livePushes = objectPushes(30_000 * k);
    return {
      objectRps: objectReads + objectApplies + livePushes,
      upstash,
      postgres,
      purges: batchesPerSecond,
      queue: PEAK_1M.events * k,
    };
  };
  const one = scale(1_000_000);
  const ten = scale(10_000_000);
  const verdict = (load: number, limit: number) =>
    load <= limit * 0.5 ? "ok" : load <= limit ? "near the limit" : "over: shard";
  console.log("");
  say("scaled to production (docs/capacity.md: load model and limits)");
  say(
    "  part                                      1M daily     10M daily    limit         1M / 10M",
  );
  const row = (name: string, a: number, b: number, limit: number, unit: string) =>
    say(
      `  ${name.padEnd(41)} ${fmt(a).padStart(9)}   ${fmt(b).padStart(10)}    ${`${fmt(limit)} ${unit}`.padEnd(13)} ${verdict(a, limit)} / ${verdict(b, limit)}`,
    );
  row(
    "global board's object, requests/s (all)",
    one.objectRps,
    ten.objectRps,
    LIMITS.objectRequestsPerSecond,
    "/s",
  );
  row("Upstash commands/s", one.upstash, ten.upstash, LIMITS.upstashCommandsPerSecond, "/s");
  row(
    "live: object pushes/s (30k / 300k sockets)",
    objectPushes(30_000),
    objectPushes(300_000),
    LIMITS.objectRequestsPerSecond,
    "/s",
  );
  say(
    `  live: sockets per object (30k / 300k)     ${fmt(PRODUCTION_RELAY.capacity).padStart(9)}   ${fmt(PRODUCTION_RELAY.capacity).padStart(10)}    ("thousands of clients per instance"; ${fmt(relaysFor(30_000))} / ${fmt(relaysFor(300_000))} relays)`,
  );
  row(
    "queue messages/s (one event each)",
    one.queue,
    ten.queue,
    LIMITS.queueMessagesPerSecond,
    "/s",
  );
  say(
    `  Postgres statements/s                     ${fmt(one.postgres).padStart(9)}   ${fmt(ten.postgres).padStart(10)}    (no hard limit; connections are)`,
  );
  say(
    `  page purges/s                             ${fmt(one.purges).padStart(9)}   ${fmt(ten.purges).padStart(10)}    (zone purge API: 10/s Business, 50/s Enterprise)`,
  );
}

main().catch((error: unknown) => {
  say(`failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
