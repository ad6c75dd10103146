import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PeriodKind } from "../../../src/domain/periods.ts";
import type { FaultCase } from "../lib/case.ts";
import {
  type BoardSpec,
  checkLedger,
  createBoards,
  EventFactory,
  type GameEvent,
  ledgerFailures,
  ledgerLine,
  objectTop,
  postgresTop,
  Sender,
  topDifference,
  waitForPersisted,
} from "../lib/events.ts";
import { call, fmt, sleep, Traffic } from "../lib/http.ts";
import type { Stack } from "../lib/stack.ts";

const PLAYERS = 400;
/** Requests of 50 events sent back to back by this many clients while the fault happens. */
const WRITERS = 6;
const RESET_PHASE_MS = 12_000;
const RESET_EVERY_MS = 200;
/** The worker's process group is killed this long into the stream. */
const KILL_AT_MS = 4_000;

/**
 * Durable Objects restarted in the middle of consumer batches, two ways.
 *  1. Reset: `ctx.abort()` inside each board-period's object every 200 ms while events stream in
 *     (test/faults/lib/worker.ts's shim): what workerd does when it evicts or restarts an object;
 *     the queue keeps its messages, so failed batches are redelivered.
 *  2. Crash: SIGKILL to workerd and the bridges mid-stream, then a new server on the same
 *     persistence directory. Durable Object storage survives; miniflare's queue broker keeps
 *     messages in memory only, so what it held is gone, where Cloudflare Queues would redeliver
 *     it: the case redelivers it itself by sending every event again with the same ids (safe by
 *     design), then checks.
 * Afterwards every board-period's top-100 on its object equals Postgres, and the ledger holds.
 */
export const objectRestartCase: FaultCase = {
  id: "object-restart",
  title: "Durable Objects reset and restarted mid-batch",
  async run(stack, runId) {
    const boards: BoardSpec[] = [
      // latest: players fall out of the top, so objects rebuild from Postgres now and then.
      {
        id: `do-latest-${runId}`,
        operator: "latest",
        sortOrder: "desc",
        periods: ["all", "daily"],
        topSize: 100,
      },
      {
        id: `do-incr-${runId}`,
        operator: "increment",
        sortOrder: "desc",
        periods: ["all"],
        topSize: 100,
      },
      {
        id: `do-best-${runId}`,
        operator: "best",
        sortOrder: "asc",
        periods: ["all"],
        topSize: 100,
      },
    ];
    await createBoards(stack, boards);
    const slots = boards.flatMap((b) =>
      b.periods.map((period) => ({ board: b, period: period as PeriodKind })),
    );
    const factory = new EventFactory(1305);
    const players = Array.from({ length: PLAYERS }, (_, i) => `do-${runId}-p${i}`);
    const nextEvent = (): GameEvent => {
      const board = factory.random.pick(boards);
      return factory.event(board, factory.random.pick(players), factory.score(board));
    };
    const traffic = new Traffic();
    const sender = new Sender(stack, traffic);
    const failures: string[] = [];
    const compareTops = async (when: string) => {
      const differences: string[] = [];
      for (const { board, period } of slots) {
        const object = await objectTop(stack, board.id, period, 100);
        const difference = topDifference(
          object,
          await postgresTop(stack, board.id, object.periodKey, 100),
        );
        if (difference) differences.push(`${board.id} ${period}: ${difference}`);
      }
      return { when, differences };
    };
    const stream = (until: () => boolean) =>
      Promise.all(
        Array.from({ length: WRITERS }, async () => {
          while (!until()) await sender.send(Array.from({ length: 50 }, nextEvent));
        }),
      );

    // 1. Resets while events stream in.
    await sender.send(Array.from({ length: 100 }, nextEvent), { retryForMs: 20_000 });
    const names = await Promise.all(
      slots.map(
        async ({ board, period }) =>
          `${board.id}/${(await objectTop(stack, board.id, period, 1)).periodKey}`,
      ),
    );
    let resets = 0;
    const resetUntil = Date.now() + RESET_PHASE_MS;
    await Promise.all([
      stream(() => Date.now() > resetUntil),
      (async () => {
        while (Date.now() < resetUntil) {
          for (const name of names) {
            const answer = await call(
              stack.worker.base,
              "POST",
              `/__faults/reset-object?name=${encodeURIComponent(name)}`,
            );
            if ((answer.json as { reset?: boolean } | undefined)?.reset) resets += 1;
          }
          await sleep(RESET_EVERY_MS);
        }
      })(),
    ]);
    const afterResets = await settle(stack, sender);
    const resetTops = await compareTops("after the resets");

    // 2. A crash of the whole worker in the middle of the stream, and a restart on the same
    //    storage.
    const acceptedBefore = sender.accepted.size;
    let killed = false;
    const crashStream = stream(() => killed);
    await sleep(KILL_AT_MS);
    killed = true;
    await stack.worker.kill();
    await crashStream;
    await stack.worker.restart();
    const survived = describeState(stack);
    const beforeRedelivery = await compareTops("right after the restart");
    const missingAtRestart =
      sender.accepted.size -
      (await waitForPersisted(stack, [...sender.accepted.keys()], 0)).persisted;
    // The redelivery Cloudflare Queues would do, and the clients' retries of unanswered requests.
    const redeliver = [...sender.accepted.values(), ...sender.unknown.values()];
    for (let i = 0; i < redeliver.length; i += 100)
      await sender.send(redeliver.slice(i, i + 100), { retryForMs: 30_000 });
    await sender.send(Array.from({ length: 100 }, nextEvent), { retryForMs: 20_000 });
    await settle(stack, sender);
    const crashTops = await compareTops("after the restart and redelivery");

    const ledger = await checkLedger(stack, boards, sender);
    failures.push(...ledgerFailures(ledger, stack.worker.logFile));
    if (resets === 0)
      failures.push(
        "no reset took effect: the fault shim (test/faults/lib/worker.ts) did not abort the objects",
      );
    if (afterResets < 0)
      failures.push("events accepted during the resets did not all reach Postgres within 90 s");
    for (const tops of [resetTops, crashTops]) {
      for (const d of tops.differences)
        failures.push(`${tops.when}: the Durable Object's top-100 differs from Postgres: ${d}`);
    }
    // The requests in flight when the worker was killed get no answer (their events are sent again
    // above); any other unanswered request is a problem.
    const unanswered = [...traffic.byRoute.values()].reduce(
      (n, statuses) => n + (statuses.get(0) ?? 0),
      0,
    );
    for (const line of traffic.problemLines(stack.worker.logFile)) {
      if (!line.includes("no answer") || unanswered > WRITERS) failures.push(line);
    }
    return {
      lines: [
        `${fmt(resets)} object resets during ${RESET_PHASE_MS / 1000} s of ingest: top-100 vs Postgres on ${slots.length} board-periods: ` +
          `${resetTops.differences.length} differ`,
        `worker killed (SIGKILL) ${KILL_AT_MS / 1000} s into a stream, ${fmt(sender.accepted.size - acceptedBefore)} events accepted in it; ` +
          `after the restart ${survived}; ${fmt(missingAtRestart)} accepted events were not in Postgres (miniflare's in-memory ` +
          `queue lost them; sent again, as a redelivery); top-100s differing before the redelivery: ${beforeRedelivery.differences.length}, ` +
          `after: ${crashTops.differences.length}`,
        `ledger: ${ledgerLine(ledger)}; by status: ${traffic.summary()}`,
      ],
      failures,
    };
  },
};

/** Waits for every accepted event to be in Postgres, then for the projections; -1 on timeout. */
async function settle(stack: Stack, sender: Sender): Promise<number> {
  const landing = await waitForPersisted(stack, [...sender.accepted.keys()], 90_000);
  await sleep(3_000);
  return landing.persisted < sender.accepted.size ? -1 : landing.persisted;
}

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name));
  } catch {
    return [];
  }
}

/** What miniflare kept of the Durable Objects across the crash. */
function describeState(stack: Stack): string {
  const files = listFiles(stack.worker.stateDir).filter((f) => f.endsWith(".sqlite"));
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  return `${files.length} Durable Object SQLite files (${fmt(bytes / 1024)} KB) were still on disk`;
}
