// `npm run bench:ingest`: N events through HTTP → queue → consumer → Postgres on the local stack,
// measured end to end, next to the database's own ceiling for the same rows.
//   BENCH_EVENTS (default 100000)  BENCH_CONCURRENCY (requests in flight, default 8)
//   DATABASE_URL (a real Postgres; unset: embedded PGlite, no ceiling / statement counts)
//   REDIS_URL (optional)   BENCH_SERVER_LOG (a file to keep the worker's output in)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { periodKeysFor } from "../src/domain/periods.ts";
import { type ContributionRow, type EventRow, persistBatch } from "../src/queue/persist-batch.ts";
import { createTestDatabase, dropDatabase, type LocalStack, startLocalStack, withDatabase } from "../tools/local-stack/index.ts";
import { runMigrations } from "../tools/migrate.ts";
import { cpuDelta, serverCpuSeconds } from "./lib/cpu.ts";
import { startDevServer } from "./lib/server.ts";
import { fmt, freePort, percentile, runPool } from "./lib/stats.ts";
import { startWorkerdServer } from "./lib/workerd.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PER_REQUEST = 100;
const ADMIN_KEY = "bench-admin-key";
const say = (line: string) => console.log(`[bench:ingest] ${line}`);

type BoardSpec = {
  id: string;
  operator: "best" | "latest" | "increment";
  sortOrder: "desc" | "asc";
  periods: Array<"all" | "daily" | "weekly">;
};
const runId = Date.now().toString(36);
const BOARDS: BoardSpec[] = [
  { id: `bench-best-${runId}`, operator: "best", sortOrder: "desc", periods: ["all", "daily", "weekly"] },
  { id: `bench-incr-${runId}`, operator: "increment", sortOrder: "desc", periods: ["all", "daily"] },
  { id: `bench-time-${runId}`, operator: "best", sortOrder: "asc", periods: ["all"] },
  { id: `bench-latest-${runId}`, operator: "latest", sortOrder: "desc", periods: ["all", "weekly"] },
];

type ClientEvent = { id: string; type: string; playerId: string; occurredAt: string; boardId: string; score: number };

function makeEvents(count: number, salt: string): ClientEvent[] {
  const players = Math.max(1, Math.floor(count / 5));
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const board = BOARDS[i % BOARDS.length] as BoardSpec;
    return {
      id: crypto.randomUUID(),
      type: "game_ended",
      playerId: `${salt}p${(i * 7919) % players}`,
      occurredAt: new Date(now - Math.floor(Math.random() * 3_600_000)).toISOString(),
      boardId: board.id,
      score: board.sortOrder === "asc" ? 30_000 + Math.floor(Math.random() * 90_000) : Math.floor(Math.random() * 100_000),
    };
  });
}

async function json(res: Response) {
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return JSON.parse(text);
}

async function persistedCount(base: string): Promise<number> {
  const stats = await json(await fetch(`${base}/v1/admin/ingest/stats?hours=2`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }));
  return (stats.queues as Array<{ queue: string; persisted: number }>)
    .filter((q) => q.queue === "scores")
    .reduce((a, q) => a + q.persisted, 0);
}

async function xactCommits(pool: Pool, database: string): Promise<number> {
  const result = await pool.query("select xact_commit from pg_stat_database where datname = $1", [database]);
  return Number(result.rows[0]?.xact_commit ?? 0);
}

/** The database's ceiling: the same rows through the same one-statement write, straight from Node. */
async function measureCeiling(
  stack: LocalStack,
  adminUrl: string,
  events: ClientEvent[],
): Promise<{ eventsPerSecond: number; cpuPerThousand: number }> {
  const name = `edgeboard_ceiling_${runId}`;
  const url = await createTestDatabase(adminUrl, stack.neonWsProxy, name);
  try {
    await runMigrations({ databaseUrl: url, neonWsProxy: stack.neonWsProxy, log: () => {} });
    return await withDatabase(url, stack.neonWsProxy, async (pool) => {
      for (const b of BOARDS) {
        await pool.query("insert into boards (id, name, sort_order, operator, periods) values ($1, $1, $2, $3, $4)", [
          b.id,
          b.sortOrder,
          b.operator,
          b.periods,
        ]);
      }
      const db = drizzle({ client: pool });
      const batches: Array<{ rows: EventRow[]; contributions: ContributionRow[] }> = [];
      const receivedAt = new Date().toISOString();
      for (let i = 0; i < events.length; i += PER_REQUEST) {
        const rows: EventRow[] = [];
        const contributions: ContributionRow[] = [];
        for (const e of events.slice(i, i + PER_REQUEST)) {
          rows.push({
            event_id: e.id,
            received_at: receivedAt,
            occurred_at: e.occurredAt,
            type: e.type,
            player_id: e.playerId,
            board_id: e.boardId,
            tournament_id: null,
            score: e.score,
            display_name: null,
            metadata: null,
            payload: null,
          });
          const board = BOARDS.find((b) => b.id === e.boardId) as BoardSpec;
          for (const { key } of periodKeysFor({ periods: board.periods, timeZone: "UTC", weekStart: "monday" }, new Date(e.occurredAt))) {
            contributions.push({ event_id: e.id, board_id: board.id, period_key: key });
          }
        }
        batches.push({ rows, contributions });
      }
      const cpuBefore = serverCpuSeconds(process.pid);
      const started = performance.now();
      await runPool(batches.length, 4, async (i) => {
        const batch = batches[i] as (typeof batches)[number];
        await persistBatch(db, "ceiling", batch.rows, batch.contributions);
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuDelta(cpuBefore, serverCpuSeconds(process.pid));
      return { eventsPerSecond: events.length / seconds, cpuPerThousand: (cpu.byName.postgres ?? 0) / (events.length / 1000) };
    });
  } finally {
    await dropDatabase(adminUrl, stack.neonWsProxy, name).catch(() => {});
  }
}

async function main() {
  const adminUrl = process.env.DATABASE_URL || undefined;
  say(`${fmt(EVENTS)} events, ${PER_REQUEST} per request, ${CONCURRENCY} requests in flight, ${BOARDS.length} boards`);
  say(
    adminUrl
      ? `database: ${adminUrl.replace(/:[^:@/]*@/, ":***@")} (a fresh database per run)`
      : "database: embedded PGlite (set DATABASE_URL for the ceiling and statement counts)",
  );

  let adminStack: LocalStack | undefined;
  let benchDbName: string | undefined;
  let benchDbUrl: string | undefined;
  let pgliteDir: string | undefined;
  if (adminUrl) {
    adminStack = await startLocalStack({ databaseUrl: adminUrl, log: () => {} });
    benchDbName = `edgeboard_bench_${runId}`;
    benchDbUrl = await createTestDatabase(adminUrl, adminStack.neonWsProxy, benchDbName);
  } else {
    pgliteDir = mkdtempSync(join(tmpdir(), "edgeboard-bench-"));
  }

  let server: { base: string; pid: number; lines: string[]; stop(): Promise<void> };
  let how: string;
  if (adminStack && benchDbUrl) {
    // A real Postgres: serve the worker on workerd directly (bench/lib/workerd.ts), without the
    // wrangler dev proxy, which is local tooling and would be counted as server CPU.
    await runMigrations({ databaseUrl: benchDbUrl, neonWsProxy: adminStack.neonWsProxy, log: () => {} });
    say("starting the worker on workerd …");
    // The consumer's per-batch log lines (batch time, statements) are read from the worker output.
    process.env.WRANGLER_LOG = "log";
    server = await startWorkerdServer({ BENCH_DATABASE_URL: benchDbUrl, REDIS_URL: process.env.REDIS_URL, ADMIN_KEY }, say);
    how = "measured on workerd directly";
  } else {
    const port = freePort();
    say(`starting the dev server on port ${port} …`);
    server = await startDevServer(
      { DATABASE_URL: benchDbUrl, PGLITE_DATA_DIR: pgliteDir, ADMIN_KEY: ADMIN_KEY, REDIS_URL: process.env.REDIS_URL },
      port,
      say,
    );
    how = "measured through the wrangler dev proxy";
  }
  try {
    for (const b of BOARDS) {
      await json(
        await fetch(`${server.base}/v1/admin/boards`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ id: b.id, name: b.id, operator: b.operator, sortOrder: b.sortOrder, periods: b.periods }),
        }),
      );
    }
    // Warm-up: one request through the whole path (isolates, board caches, first connections).
    const warm = makeEvents(PER_REQUEST, "warm");
    await json(
      await fetch(`${server.base}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events: warm }),
      }),
    );
    const deadlineWarm = Date.now() + 60_000;
    while ((await persistedCount(server.base)) < PER_REQUEST) {
      if (Date.now() > deadlineWarm) throw new Error("warm-up events did not land within 60 s: check the server output");
      await new Promise((r) => setTimeout(r, 200));
    }

    const events = makeEvents(EVENTS, "");
    const baseline = await persistedCount(server.base);
    const firstLine = server.lines.length;
    const xactPool =
      adminStack && benchDbName
        ? await import("@neondatabase/serverless").then((m) => new m.Pool({ connectionString: benchDbUrl, max: 1 }))
        : undefined;
    const xactBefore = xactPool && benchDbName ? await xactCommits(xactPool, benchDbName) : 0;
    const cpuBefore = serverCpuSeconds(server.pid);
    const started = performance.now();

    const requestMs: number[] = [];
    let sent = 0;
    let rejected = 0;
    const progress = setInterval(async () => {
      const landed = (await persistedCount(server.base).catch(() => baseline)) - baseline;
      say(`sent ${fmt(sent)} / ${fmt(EVENTS)}, durable ${fmt(landed)} (${fmt((performance.now() - started) / 1000, 1)} s)`);
    }, 2_000);
    try {
      await runPool(Math.ceil(EVENTS / PER_REQUEST), CONCURRENCY, async (i) => {
        const chunk = events.slice(i * PER_REQUEST, (i + 1) * PER_REQUEST);
        const t0 = performance.now();
        const reply = await json(
          await fetch(`${server.base}/v1/events`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ events: chunk }),
          }),
        );
        requestMs.push(performance.now() - t0);
        rejected += reply.rejected.length;
        sent += chunk.length;
      });
      const sentSeconds = (performance.now() - started) / 1000;
      const deadline = Date.now() + 15 * 60_000;
      let landed = 0;
      while (landed < EVENTS - rejected) {
        if (Date.now() > deadline) throw new Error(`only ${landed} of ${EVENTS} events landed within 15 minutes`);
        await new Promise((r) => setTimeout(r, 100));
        landed = (await persistedCount(server.base)) - baseline;
      }
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuDelta(cpuBefore, serverCpuSeconds(server.pid));
      const xactAfter = xactPool && benchDbName ? await xactCommits(xactPool, benchDbName) : 0;
      clearInterval(progress);

      const batchLines = server.lines
        .slice(firstLine)
        .filter((l) => l.includes('"consumer: batch"'))
        .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as { size: number; ms: number; queue: string; statements: number; writes: number });
      const scoreBatches = batchLines.filter((b) => b.queue.endsWith("score-events"));
      const batchMs = scoreBatches.map((b) => b.ms);
      const avgBatch = scoreBatches.reduce((a, b) => a + b.size, 0) / Math.max(1, scoreBatches.length);

      console.log("");
      say(`results (${how}; Redis ${process.env.REDIS_URL ? "on" : "off"})`);
      say(
        `  end to end (HTTP → queue → consumer → Postgres, durable): ${fmt(EVENTS / seconds)} events/s  (${fmt(seconds, 1)} s; all sent after ${fmt(sentSeconds, 1)} s)`,
      );
      say(
        `  POST /v1/events (100 events): p50 ${fmt(percentile(requestMs, 50), 1)} ms, p99 ${fmt(percentile(requestMs, 99), 1)} ms; rejected ${rejected}`,
      );
      say(
        `  consumer batches: ${scoreBatches.length} (avg ${fmt(avgBatch, 1)} events); batch time p50 ${fmt(percentile(batchMs, 50))} ms, p99 ${fmt(percentile(batchMs, 99))} ms`,
      );
      const statements = scoreBatches.reduce((a, b) => a + b.statements, 0);
      const writes = scoreBatches.reduce((a, b) => a + b.writes, 0);
      say(
        `  database statements per consumer batch: ${fmt(statements / Math.max(1, scoreBatches.length), 2)} ` +
          `(${fmt(writes / Math.max(1, scoreBatches.length), 1)} parallel writes + board loads); ${fmt((statements / EVENTS) * 100, 3)} per 100 events`,
      );
      if (xactPool) {
        const perBatch = (xactAfter - xactBefore) / Math.max(1, scoreBatches.length);
        say(`  cross-check, pg_stat_database.xact_commit per batch: ${fmt(perBatch, 2)} (includes this bench's progress polling)`);
        await xactPool.end();
      }
      say(
        `  server CPU: ${fmt(cpu.total, 1)} s = ${fmt((cpu.total / EVENTS) * 1000, 3)} ms per event (${Object.entries(cpu.byName)
          .map(([k, v]) => `${k} ${fmt(v, 1)} s`)
          .join(", ")})`,
      );
      say(`             ${fmt((cpu.total / EVENTS) * 1000, 3)} CPU s per 1,000 events`);

      if (adminStack && adminUrl) {
        await server.stop();
        say("measuring the database ceiling (the same rows, same statement, batches of 100, 4 connections) …");
        const ceiling = await measureCeiling(adminStack, adminUrl, events);
        say(
          `  database ceiling: ${fmt(ceiling.eventsPerSecond)} events/s (Postgres CPU ${fmt(ceiling.cpuPerThousand, 3)} s per 1,000 events)`,
        );
        say(`  end to end / ceiling: ${fmt((EVENTS / seconds / ceiling.eventsPerSecond) * 100, 1)} %`);
      }
    } finally {
      clearInterval(progress);
    }
  } finally {
    // BENCH_SERVER_LOG=path keeps the worker's output (consumer batch lines with phase timings).
    if (process.env.BENCH_SERVER_LOG) writeFileSync(process.env.BENCH_SERVER_LOG, `${server.lines.join("\n")}\n`);
    await server.stop();
    if (adminStack && adminUrl && benchDbName) await dropDatabase(adminUrl, adminStack.neonWsProxy, benchDbName).catch(() => {});
    await adminStack?.stop();
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`[bench:ingest] failed: ${(error as Error).message}`);
  process.exit(1);
});
