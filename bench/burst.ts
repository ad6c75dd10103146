// `node bench/burst.ts`: the hung-request reproduction. A heavy ingest run, then
// rounds of bursts against the production bundle on workerd (queues, Durable Objects and cache as
// wrangler.toml binds them, bench/lib/workerd.ts) while the consumer still works through the
// backlog: in each round, on a board inserted straight into Postgres (new to the isolate, so every
// request of the burst misses the board cache at once), BURST_SIZE single-event POSTs, as many
// 100-event POSTs and as many page reads, all at once. It counts every answer that is not the
// API's JSON, greps workerd's output for the runtime's cross-request messages, and checks that
// every event answered 202 was persisted (its id in `event_ids`). Exit status 1 on any of those.
//   DATABASE_URL (required: a real Postgres; a fresh database per run)  REDIS_URL (optional)
//   BURST_HEAVY_SECONDS (default 20)  BURST_WRITERS (default 50)  BURST_ROUNDS (default 6)
//   BURST_SIZE (default 100)  BURST_IDLE_SECONDS (default 65: the pause before each of the last
//   rounds, longer than the isolate keeps a board definition)  BURST_SERVER_LOG (keep workerd's output)
// A client going away does not cancel a request on local workerd (it does on Cloudflare), so the
// cancelled-owner case itself is covered by test/stores/cache/pages.test.ts and
// test/stores/cache/boards.test.ts, inside workerd.
import { writeFileSync } from "node:fs";
import { Pool } from "@neondatabase/serverless";
import { createTestDatabase, dropDatabase, startLocalStack } from "../tools/local-stack/index.ts";
import { runMigrations } from "../tools/migrate.ts";
import {
  DEV_REDIS_PREFIX,
  deleteBoardKeys,
  insertBoard,
  openRedisClient,
} from "./lib/seed-board.ts";
import { fmt } from "./lib/stats.ts";
import { startWorkerdServer } from "./lib/workerd.ts";

const HEAVY_SECONDS = Number(process.env.BURST_HEAVY_SECONDS ?? 20);
const WRITERS = Number(process.env.BURST_WRITERS ?? 50);
const ROUNDS = Number(process.env.BURST_ROUNDS ?? 6);
const SIZE = Number(process.env.BURST_SIZE ?? 100);
const IDLE_SECONDS = Number(process.env.BURST_IDLE_SECONDS ?? 65);
const ADMIN_KEY = "bench-admin-key";
const say = (line: string) => console.log(`[bench:burst] ${line}`);
const runId = Date.now().toString(36);
const BOARDS = [`burst-a-${runId}`, `burst-b-${runId}`, `burst-c-${runId}`, `burst-d-${runId}`];
/** What workerd says when it cancels a request or a continuation that crossed requests. */
const RUNTIME_MESSAGES = [
  "different request context",
  "Cannot perform I/O on behalf of a different request",
  "had hung and would never generate a response",
];

type Outcome = { status: number; json: boolean; code?: string; body: string; ids: string[] };

function makeEvents(count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    id: crypto.randomUUID(),
    type: "game_ended",
    playerId: `p${Math.floor(Math.random() * 5_000)}`,
    occurredAt: new Date(Date.now() - Math.floor(Math.random() * 60_000)).toISOString(),
    boardId: BOARDS[i % BOARDS.length],
    score: Math.floor(Math.random() * 100_000),
  }));
}

async function post(base: string, events: Array<Record<string, unknown>>): Promise<Outcome> {
  const ids = events.map((e) => e.id as string);
  try {
    const res = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(events.length === 1 ? events[0] : { events }),
    });
    const body = await res.text();
    try {
      const parsed = JSON.parse(body) as { error?: { code?: string } };
      return {
        status: res.status,
        json: true,
        ...(parsed.error?.code ? { code: parsed.error.code } : {}),
        body,
        ids,
      };
    } catch {
      return { status: res.status, json: false, body, ids };
    }
  } catch (error) {
    return { status: 0, json: false, body: String(error), ids };
  }
}

async function get(base: string, path: string): Promise<Outcome> {
  try {
    const res = await fetch(`${base}${path}`);
    const body = await res.text();
    try {
      const parsed = JSON.parse(body) as { error?: { code?: string } };
      return {
        status: res.status,
        json: true,
        ...(parsed.error?.code ? { code: parsed.error.code } : {}),
        body,
        ids: [],
      };
    } catch {
      return { status: res.status, json: false, body, ids: [] };
    }
  } catch (error) {
    return { status: 0, json: false, body: String(error), ids: [] };
  }
}

/** Tallies answers by kind: "202", "503 DEPENDENCY_UNAVAILABLE", "500 non-JSON", … */
function tally(outcomes: Outcome[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const kind = `${o.status}${o.json ? (o.code ? ` ${o.code}` : "") : " non-JSON"}`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

const show = (counts: Map<string, number>) => [...counts].map(([k, v]) => `${k}: ${v}`).join(", ");

async function main() {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl)
    throw new Error("set DATABASE_URL to a real Postgres (a fresh database is made and dropped)");
  const stack = await startLocalStack({ databaseUrl: adminUrl, log: () => {} });
  const dbName = `edgeboard_burst_${runId}`;
  const dbUrl = await createTestDatabase(adminUrl, stack.neonWsProxy, dbName);
  let server: Awaited<ReturnType<typeof startWorkerdServer>> | undefined;
  let pool: Pool | undefined;
  try {
    await runMigrations({ databaseUrl: dbUrl, neonWsProxy: stack.neonWsProxy, log: () => {} });
    process.env.WRANGLER_LOG = "log";
    server = await startWorkerdServer(
      { BENCH_DATABASE_URL: dbUrl, REDIS_URL: process.env.REDIS_URL, ADMIN_KEY },
      say,
    );
    const base = server.base;
    for (const id of BOARDS) {
      const res = await fetch(`${base}/v1/admin/boards`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ id, name: id, periods: ["all", "daily"] }),
      });
      if (res.status !== 201)
        throw new Error(`creating board ${id}: ${res.status} ${await res.text()}`);
    }

    const all: Outcome[] = [];
    say(`heavy run: ${WRITERS} writers of 100-event requests for ${HEAVY_SECONDS} s`);
    const heavy: Outcome[] = [];
    const until = Date.now() + HEAVY_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (Date.now() < until) heavy.push(await post(base, makeEvents(100)));
      }),
    );
    all.push(...heavy);
    say(`  ${heavy.length} requests: ${show(tally(heavy))}`);

    // Each round's board is inserted straight into Postgres, as another isolate would create it:
    // every request of the burst misses this isolate's board cache at once.
    pool = new Pool({ connectionString: dbUrl, max: 1 });
    const reads: Outcome[] = [];
    const burst = async (label: string, board: string) => {
      await insertBoard(pool as Pool, board, 1000);
      const events = (n: number) => makeEvents(n).map((e) => ({ ...e, boardId: board }));
      const [singles, batches, pages] = await Promise.all([
        Promise.all(Array.from({ length: SIZE }, () => post(base, events(1)))),
        Promise.all(Array.from({ length: SIZE }, () => post(base, events(100)))),
        Promise.all(
          Array.from({ length: SIZE }, () => get(base, `/v1/leaderboards/${board}?limit=25`)),
        ),
      ]);
      all.push(...singles, ...batches);
      reads.push(...pages);
      say(
        `  ${label}: singles ${show(tally(singles))}; 100-event ${show(tally(batches))}; page reads ${show(tally(pages))}`,
      );
    };
    say(
      `bursts of ${SIZE} single-event POSTs + ${SIZE} 100-event POSTs + ${SIZE} page reads at once, each on a board new to the isolate`,
    );
    const early = Math.ceil(ROUNDS / 2);
    for (let round = 1; round <= early; round++)
      await burst(`round ${round}`, `burst-${runId}-${round}`);
    for (let round = early + 1; round <= ROUNDS; round++) {
      say(`  idle ${IDLE_SECONDS} s …`);
      await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
      await burst(`round ${round} (after idle)`, `burst-${runId}-${round}`);
    }
    BOARDS.push(...Array.from({ length: ROUNDS }, (_, i) => `burst-${runId}-${i + 1}`));

    const accepted = all.filter((o) => o.status === 202).flatMap((o) => o.ids);
    const bad = [...all, ...reads].filter((o) => !o.json);
    say(
      `total: ${all.length} POSTs: ${show(tally(all))}; ${reads.length} page reads: ${show(tally(reads))}`,
    );
    for (const o of bad.slice(0, 5))
      say(`  non-JSON answer: ${o.status} ${o.body.slice(0, 200).replace(/\s+/g, " ")}`);

    say(`waiting for the ${fmt(accepted.length)} accepted events to be persisted …`);
    const deadline = Date.now() + 10 * 60_000;
    let missing = accepted.length;
    for (;;) {
      const { rows } = await pool.query<{ n: string }>(
        "select count(*) as n from event_ids where event_id = any($1::text[])",
        [accepted],
      );
      missing = accepted.length - Number(rows[0]?.n ?? 0);
      if (missing === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    say(
      `persisted: ${fmt(accepted.length - missing)} of ${fmt(accepted.length)} accepted events (${missing} missing)`,
    );

    const runtime = server.lines.filter((l) => RUNTIME_MESSAGES.some((m) => l.includes(m)));
    for (const m of RUNTIME_MESSAGES)
      say(`workerd output lines with "${m}": ${runtime.filter((l) => l.includes(m)).length}`);
    if (process.env.BURST_SERVER_LOG)
      writeFileSync(process.env.BURST_SERVER_LOG, `${server.lines.join("\n")}\n`);
    const ok = bad.length === 0 && missing === 0 && runtime.length === 0;
    say(
      ok
        ? "PASS: every answer was JSON, every 202'd event persisted, no cross-request messages"
        : "FAIL",
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await pool?.end().catch(() => {});
    await server?.stop();
    await dropDatabase(adminUrl, stack.neonWsProxy, dbName).catch(() => {});
    if (process.env.REDIS_URL) {
      const redis = await openRedisClient(process.env.REDIS_URL);
      for (const id of BOARDS) await deleteBoardKeys(redis, DEV_REDIS_PREFIX, id).catch(() => 0);
      redis.disconnect();
    }
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(`[bench:burst] failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
