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
  makeRandom,
  objectTop,
  postgresTop,
  Sender,
  topDifference,
  waitForPersisted,
} from "../lib/events.ts";
import { fmt, sleep, Traffic } from "../lib/http.ts";
import { READ_ROUTES, readLoop } from "../lib/reads.ts";

/** Postgres is down this long: past the 30 s a board definition used to stay fresh. */
const OUTAGE_MS = 32_000;
/**
 * Events: BATCHES requests of 100 and SINGLES single-event requests, sent at an even pace over
 * SEND_MS.
 */
const BATCHES = 100;
const SINGLES = 400;
const SEND_MS = 50_000;
/** The outage starts this long after the first event. */
const OUTAGE_AT_MS = 8_000;
const PLAYERS = 300;
const READERS = 4;
/**
 * After Postgres is back, the consumer's backoff (2, 4, 8, 16, 32, 64 s per attempt) may hold a
 * message up to ~64 s more before its next try; everything must have landed by then, with margin.
 */
const SETTLE_MS = 150_000;

/**
 * Postgres stopped (pg_ctl stop -m immediate) for 32 s while 10,400 events are in
 * flight and reads continue. Afterwards nothing accepted is lost or doubled (Postgres `events` and
 * every `scores` record against a reference fold), and no request got a 500 or a non-JSON answer
 * at any time: a 503 with Retry-After and the JSON error body is what an outage may cost.
 */
export const postgresOutageCase: FaultCase = {
  id: "postgres-outage",
  title: "Postgres outage",
  async run(stack, runId) {
    const boards: BoardSpec[] = [
      { id: `pg-best-${runId}`, operator: "best", sortOrder: "desc", periods: ["all", "daily"] },
      {
        id: `pg-incr-${runId}`,
        operator: "increment",
        sortOrder: "desc",
        periods: ["all", "weekly"],
      },
      { id: `pg-latest-${runId}`, operator: "latest", sortOrder: "asc", periods: ["all"] },
    ];
    await createBoards(stack, boards);
    const factory = new EventFactory(1301);
    const players = Array.from({ length: PLAYERS }, (_, i) => `pg-${runId}-p${i}`);
    const pick = () => factory.random.pick(players);
    const nextEvent = (): GameEvent => {
      const board = factory.random.pick(boards);
      return factory.event(board, pick(), factory.score(board));
    };

    const writes = new Traffic();
    const sender = new Sender(stack, writes);
    // Warm-up: every board and player's first events, so reads have something to find.
    await sender.send(Array.from({ length: 100 }, nextEvent));
    await waitForPersisted(stack, [...sender.accepted.keys()], 30_000);

    const readsBefore = new Traffic();
    const readsDuring = new Traffic();
    const readsAfter = new Traffic();
    let readPhase = readsBefore;
    let readersStop = false;
    const readers = Array.from({ length: READERS }, (_, i) =>
      readLoop(
        stack,
        boards,
        players,
        makeRandom(1310 + i),
        () => readPhase,
        () => readersStop,
        25,
      ),
    );

    // The writers: requests start on a fixed schedule whatever the answers (players keep playing);
    // each retries its own request until a 202, as a client should.
    const started = Date.now();
    const pending: Array<Promise<unknown>> = [];
    const schedule = (count: number, send: () => Promise<unknown>) =>
      (async () => {
        for (let i = 0; i < count; i++) {
          const at = started + (i * SEND_MS) / count;
          if (at > Date.now()) await sleep(at - Date.now());
          pending.push(send());
        }
      })();
    const writers = Promise.all([
      schedule(BATCHES, () =>
        sender.send(Array.from({ length: 100 }, nextEvent), { retryForMs: 120_000 }),
      ),
      schedule(SINGLES, () => sender.send([nextEvent()], { single: true, retryForMs: 120_000 })),
    ]);

    await sleep(OUTAGE_AT_MS);
    const writesBeforeOutage = sender.sentEvents;
    readPhase = readsDuring;
    const outageStarted = Date.now();
    stack.pg.stop("immediate");
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    stack.pg.start();
    const outageSeconds = (Date.now() - outageStarted) / 1000;
    readPhase = readsAfter;

    await writers;
    await Promise.all(pending);
    const recoveredAt = Date.now();
    const ids = [...sender.accepted.keys()];
    const landing = await waitForPersisted(stack, ids, SETTLE_MS);
    // Projections run right after each commit; give the last batch's a moment.
    await sleep(3_000);
    readersStop = true;
    await Promise.all(readers);

    const ledger = await checkLedger(stack, boards, sender);
    const tops: string[] = [];
    for (const board of boards) {
      for (const period of board.periods as PeriodKind[]) {
        const object = await objectTop(stack, board.id, period, 100);
        const difference = topDifference(
          object,
          await postgresTop(stack, board.id, object.periodKey, 100),
        );
        if (difference) tops.push(`${board.id} ${period}: ${difference}`);
      }
    }

    const failures = ledgerFailures(ledger, stack.worker.logFile);
    if (landing.persisted < ids.length) {
      failures.push(
        `only ${fmt(landing.persisted)} of ${fmt(ids.length)} accepted events were in Postgres ${fmt((Date.now() - recoveredAt) / 1000)} s ` +
          `after the last request: the consumer did not catch up after the outage (its retries, or messages dead-lettered: GET /v1/admin/dlq)`,
      );
    }
    if (sender.unknown.size - ledger.landedUnknown > 0) {
      failures.push(
        `${fmt(sender.unknown.size)} events never got a 202 despite retries for 120 s (${fmt(ledger.landedUnknown)} of them landed anyway)`,
      );
    }
    for (const top of tops)
      failures.push(`top-100 of the Durable Object differs from Postgres after the outage: ${top}`);
    const traffics = {
      writes,
      "reads before": readsBefore,
      "reads during the outage": readsDuring,
      "reads after": readsAfter,
    };
    for (const [what, traffic] of Object.entries(traffics)) {
      for (const line of traffic.problemLines(stack.worker.logFile))
        failures.push(`${what}: ${line}`);
    }
    const fiveHundreds = [writes, readsBefore, readsDuring, readsAfter].reduce(
      (n, t) => n + t.problemCount(),
      0,
    );
    if (fiveHundreds > 0) {
      failures.push(
        "during an outage every answer must be JSON and a failure a 503 with Retry-After (src/app.ts onError maps " +
          `unknown errors to 500); the worker's errors are in ${stack.worker.logFile}`,
      );
    }

    return {
      lines: [
        `Postgres stopped (pg_ctl stop -m immediate) for ${fmt(outageSeconds, 1)} s, ${fmt(writesBeforeOutage)} events into the run: ` +
          `${fmt(sender.sentEvents)} events sent in ${fmt(sender.requests)} requests (${fmt(sender.retries)} of them retries after a non-202), ` +
          `${ledger.lost.length === 0 ? `all landed ${fmt(landing.seconds)} s after the last request` : "some lost"}`,
        `ledger: ${ledgerLine(ledger)}; ${fmt(boards.reduce((n, b) => n + b.periods.length, 0))} Durable Object top-100s vs Postgres: ${fmt(tops.length)} differ`,
        `writes by status: ${writes.summary()}`,
        `reads during the outage: ${readsDuring.summary([...READ_ROUTES])}`,
        `reads before/after the outage: ${fmt([...READ_ROUTES].reduce((n, r) => n + readsBefore.count(r) + readsAfter.count(r), 0))} answers, ` +
          `${fmt(readsBefore.problemCount() + readsAfter.problemCount())} problems`,
      ],
      failures,
    };
  },
};
