// `npm run test:faults`: the fault and abuse suite. It drives the real local stack: the
// production bundle in workerd (real Durable Objects, Queues with consumers, Cache, crons), the
// local Neon proxy and Upstash bridge, in front of a Postgres and Redis servers of its own that
// the cases stop, kill and restart. Quiet when all is well: a few lines per case, saying what it
// compared and the counts. Exits non-zero if any case fails.
//
//   npm run test:faults                 every case
//   npm run test:faults -- redis burst  only the cases whose id contains one of the words
//   FAULTS_KEEP=1                       keep the temp dirs (bundle, Durable Object storage)
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { burstsCase } from "./cases/bursts.ts";
import { duplicatesCase } from "./cases/duplicates.ts";
import { objectRestartCase } from "./cases/object-restart.ts";
import { poisonCase } from "./cases/poison.ts";
import { postgresOutageCase } from "./cases/postgres-outage.ts";
import { redisOutageCase } from "./cases/redis-outage.ts";
import type { CaseReport, FaultCase } from "./lib/case.ts";
import { cleanupAll } from "./lib/cleanup.ts";
import { call, fmt, sleep } from "./lib/http.ts";
import { type Stack, startStack } from "./lib/stack.ts";

/**
 * In order: the bursts run right after the heaviest run (the Postgres outage), when a backlog is
 * still draining.
 */
const CASES: FaultCase[] = [
  duplicatesCase,
  poisonCase,
  postgresOutageCase,
  burstsCase,
  redisOutageCase,
  objectRestartCase,
];

const say = (line: string) => console.log(`[faults] ${line}`);

async function main(): Promise<number> {
  const words = process.argv.slice(2);
  const selected = words.length ? CASES.filter((c) => words.some((w) => c.id.includes(w))) : CASES;
  if (selected.length === 0) {
    say(`no case matches ${words.join(" ")}; cases: ${CASES.map((c) => c.id).join(", ")}`);
    return 2;
  }
  const runId = Date.now().toString(36);
  const logFile = join(tmpdir(), `edgeboard-faults-${runId}-worker.log`);
  const started = performance.now();
  let stack: Stack | undefined;
  let failed = 0;
  try {
    stack = await startStack(logFile, say);
    for (const fault of selected) {
      const caseStarted = performance.now();
      let report: CaseReport;
      try {
        await ensureHealthy(stack);
        report = await fault.run(stack, runId);
      } catch (error) {
        report = {
          lines: [],
          failures: [`the case could not finish: ${(error as Error).stack ?? error}`],
        };
      }
      const seconds = (performance.now() - caseStarted) / 1000;
      const verdict = report.failures.length === 0 ? "ok  " : "FAIL";
      if (report.failures.length > 0) failed += 1;
      say(`${verdict} ${fault.title} (${fmt(seconds)} s)`);
      for (const line of report.lines) say(`       ${line}`);
      for (const failure of report.failures) say(`     ✗ ${failure}`);
    }
  } catch (error) {
    say(`the suite could not run: ${(error as Error).stack ?? error}`);
    failed = Math.max(failed, 1);
  } finally {
    await stack
      ?.stop()
      .catch((error: unknown) => say(`while stopping: ${(error as Error).message}`));
    cleanupAll();
  }
  const minutes = (performance.now() - started) / 60_000;
  if (failed > 0) {
    say(
      `${failed} of ${selected.length} cases failed (${fmt(minutes, 1)} min); the worker's output is in ${logFile}`,
    );
    return 1;
  }
  rmSync(logFile, { force: true });
  say(`all ${selected.length} cases passed (${fmt(minutes, 1)} min)`);
  return 0;
}

/**
 * A case starts on a whole stack even if the one before it failed half-way: Postgres and Redis
 * up, the worker answering. What had to be brought back is said, since it explains later results.
 */
async function ensureHealthy(stack: Stack): Promise<void> {
  if (!stack.pg.isRunning()) {
    say("(Postgres was down after the previous case: starting it)");
    stack.pg.start();
  }
  if ((await stack.redis.command("PING").catch(() => null)) !== "PONG") {
    say("(Redis was down after the previous case: starting it empty)");
    await stack.redis.restart();
  }
  const health = await call(stack.worker.base, "GET", "/health");
  if (health.status !== 200) {
    say(
      `(the worker answered /health with ${health.status} after the previous case: restarting it)`,
    );
    await stack.worker.restart();
  }
  // Postgres must answer the worker before a case starts (it may be recovering from a crash).
  const deadline = Date.now() + 60_000;
  while ((await call(stack.worker.base, "GET", "/health/ready")).status !== 200) {
    if (Date.now() > deadline)
      throw new Error(
        "the worker's /health/ready did not answer 200 within 60 s of the case's start",
      );
    await sleep(500);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`unexpected: ${(error as Error).stack ?? error}`);
    cleanupAll();
    process.exit(1);
  },
);
