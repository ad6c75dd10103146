import { readFileSync, statSync } from "node:fs";
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
import { callOk, fmt, sleep, Traffic } from "../lib/http.ts";
import type { Stack } from "../lib/stack.ts";

const BATCHES = 20;
const SINGLES = 200;
const PLAYERS = 100;
/**
 * How long Postgres holds the batch statement of some events: past the consumer's 20 s statement
 * timeout.
 */
const STALL_MS = 24_000;

/**
 * every event sent three times (a 100-event request repeated after its 202, then
 * again at once with a copy whose ids are upper-cased, which is the same UUID; single events three
 * times at once; one request carrying an id twice and its upper-cased spelling), and a batch
 * redelivered after it committed: Postgres holds the batch statement on a lock past the consumer's
 * statement timeout, the consumer retries the messages, the statement then commits, and the retry
 * brings the same events again. Each event must count once: one row in `events`, increment sums
 * equal to the fold of the unique events, the ingest counters' `persisted` up by exactly the unique
 * count, and the objects' top-100 equal to Postgres.
 */
export const duplicatesCase: FaultCase = {
  id: "duplicates",
  title: "Duplicate events and redelivered batches",
  async run(stack, runId) {
    const boards: BoardSpec[] = [
      {
        id: `dup-incr-${runId}`,
        operator: "increment",
        sortOrder: "desc",
        periods: ["all", "daily"],
      },
      { id: `dup-best-${runId}`, operator: "best", sortOrder: "desc", periods: ["all"] },
    ];
    await createBoards(stack, boards);
    const factory = new EventFactory(1303);
    const players = Array.from({ length: PLAYERS }, (_, i) => `dup-${runId}-p${i}`);
    const nextEvent = (): GameEvent => {
      const board = factory.random.pick(boards);
      return factory.event(board, factory.random.pick(players), factory.score(board));
    };
    const traffic = new Traffic();
    const sender = new Sender(stack, traffic);
    const persistedBefore = await counters(stack);
    const logStart = statSync(stack.worker.logFile).size;

    let copies = 0;
    const unique: GameEvent[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const events = Array.from({ length: 100 }, nextEvent);
      unique.push(...events);
      await sender.send(events, { retryForMs: 30_000 });
      const upper = events.map((e) => ({ ...e, id: e.id.toUpperCase() }));
      await Promise.all([
        sender.send(events, { retryForMs: 30_000 }),
        sender.send(upper, { retryForMs: 30_000 }),
      ]);
      copies += 300;
    }
    const singles = Array.from({ length: SINGLES }, nextEvent);
    unique.push(...singles);
    await Promise.all(
      singles.flatMap((e) =>
        [0, 1, 2].map(() => sender.send([e], { single: true, retryForMs: 30_000 })),
      ),
    );
    copies += SINGLES * 3;
    const twice = nextEvent();
    unique.push(twice);
    await sender.send([twice, twice, nextEventCopy(twice)], { retryForMs: 30_000 });
    copies += 3;

    // A stalled database: the batch statement of the next events waits on a lock past the
    // consumer's 20 s statement timeout, so the consumer gives up and retries its messages, and
    // then the statement commits: the retry is a redelivery of events that already landed.
    await waitForPersisted(
      stack,
      unique.map((e) => e.id),
      60_000,
    );
    let duplicatesBefore = await counters(stack);
    for (let steady = 0; steady < 2; ) {
      await sleep(1_000);
      const now = await counters(stack);
      steady = now.duplicates === duplicatesBefore.duplicates ? steady + 1 : 0;
      duplicatesBefore = now;
    }
    const stalled = Array.from({ length: 200 }, nextEvent);
    unique.push(...stalled);
    const hold = stack.holdTransaction("lock table ingest_stats in share mode", STALL_MS);
    await sleep(500);
    await sender.send(stalled.slice(0, 100), { retryForMs: 30_000 });
    await sender.send(stalled.slice(100), { retryForMs: 30_000 });
    copies += 200;
    await hold;

    // Upper-cased ids were recorded under their own spelling by the sender; the server normalises
    // them (normaliseEventId), so the ledger is checked on the unique lower-case events.
    for (const id of [...sender.accepted.keys()])
      if (id !== id.toLowerCase()) sender.accepted.delete(id);
    const ids = unique.map((e) => e.id);
    const landing = await waitForPersisted(stack, ids, 90_000);
    // The stalled batch comes back after its backoff (2 s) as a redelivery; let it be consumed.
    const redeliveredBy = Date.now() + 20_000;
    let redelivered = 0;
    while (Date.now() < redeliveredBy) {
      redelivered = (await counters(stack)).duplicates - duplicatesBefore.duplicates;
      if (redelivered >= stalled.length) break;
      await sleep(500);
    }
    await sleep(2_000);

    const ledger = await checkLedger(stack, boards, sender);
    const persistedDelta = (await counters(stack)).persisted - persistedBefore.persisted;
    const failures = ledgerFailures(ledger, stack.worker.logFile);
    if (landing.persisted < ids.length)
      failures.push(
        `only ${fmt(landing.persisted)} of ${fmt(ids.length)} unique events reached Postgres within 90 s`,
      );
    if (persistedDelta !== unique.length) {
      failures.push(
        `the ingest counters (GET /v1/admin/ingest/stats) say ${fmt(persistedDelta)} events were persisted, for ${fmt(unique.length)} unique ` +
          "events: a duplicate was counted as new (persist-batch.ts `fresh`), or an event was not counted",
      );
    }
    const tops: string[] = [];
    const objectNames = boards.flatMap((b) => b.periods.map((period) => ({ board: b, period })));
    for (const { board, period } of objectNames) {
      const object = await objectTop(stack, board.id, period, 100);
      const difference = topDifference(
        object,
        await postgresTop(stack, board.id, object.periodKey, 100),
      );
      if (difference) tops.push(`${board.id} ${period}: ${difference}`);
    }
    for (const top of tops)
      failures.push(
        `after the redeliveries the Durable Object's top-100 differs from Postgres: ${top}`,
      );
    for (const line of traffic.problemLines(stack.worker.logFile)) failures.push(line);
    const log = readFileSync(stack.worker.logFile, "utf8").slice(logStart);
    const timeouts = log
      .split("\n")
      .filter(
        (l) => l.includes("consumer: transient database failure") && l.includes("did not answer"),
      ).length;
    if (redelivered < stalled.length) {
      failures.push(
        `the stalled batch was not seen again as duplicates (ingest counters: ${redelivered} duplicates after the stall, ` +
          `${timeouts} consumer statement timeouts in the log): the case did not exercise a redelivery`,
      );
    }
    return {
      lines: [
        `${fmt(unique.length)} unique events sent as ${fmt(copies)} copies (${fmt(sender.requests)} requests: ${traffic.summary()}); ` +
          `Postgres stalled ${STALL_MS / 1000} s under a batch: ${timeouts} consumer statement timeouts, the batch committed and was ` +
          `redelivered (${fmt(redelivered)} duplicates counted after the stall)`,
        `ledger: ${ledgerLine(ledger)}; ingest counters: ${fmt(persistedDelta)} persisted for ${fmt(unique.length)} unique; ` +
          `${objectNames.length} top-100s vs Postgres: ${tops.length} differ`,
      ],
      failures,
    };
  },
};

/** The same event with its id upper-cased: the same UUID, spelled differently. */
function nextEventCopy(event: GameEvent): GameEvent {
  return { ...event, id: event.id.toUpperCase() };
}

/** The ingest counters (GET /v1/admin/ingest/stats) over the last two hours, all queues. */
async function counters(stack: Stack): Promise<{ persisted: number; duplicates: number }> {
  const stats = await callOk<{ queues: Array<{ persisted: number; duplicates: number }> }>(
    stack.worker.base,
    "GET",
    "/v1/admin/ingest/stats?hours=2",
    { headers: stack.admin },
  );
  return {
    persisted: stats.queues.reduce((n, q) => n + q.persisted, 0),
    duplicates: stats.queues.reduce((n, q) => n + q.duplicates, 0),
  };
}
