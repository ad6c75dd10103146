import { readFileSync, statSync } from "node:fs";
import type { FaultCase } from "../lib/case.ts";
import {
  type BoardSpec,
  checkLedger,
  EventFactory,
  type GameEvent,
  insertBoards,
  ledgerFailures,
  ledgerLine,
  Sender,
  waitForPersisted,
} from "../lib/events.ts";
import { call, fmt, Traffic } from "../lib/http.ts";

/**
 * Rounds of bursts, back to back, started while the consumer still works through the heavy run's
 * backlog.
 */
const ROUNDS = 4;
const SIMULTANEOUS = 100;
/** The heavy run before the bursts: this many writers of 100-event requests, back to back. */
const HEAVY_WRITERS = 50;
const HEAVY_MS = 15_000;
/** What workerd prints when a continuation crossed requests, or it cancelled a hung request. */
const RUNTIME_MESSAGES = [
  "different request context",
  "Cannot perform I/O on behalf of a different request",
  "had hung and would never generate a response",
];

/**
 * 100 simultaneous single-event POSTs, 100 simultaneous 100-event POSTs and 100
 * simultaneous page reads, on a board this isolate has never seen (created in Postgres, as another
 * isolate would have: every request of the burst misses the board cache at once), in several
 * rounds. Every answer must be a JSON 202/200 (the known bug: workerd's plain-text 500 "A promise
 * was resolved or rejected from a different request context"), and every 202'd event persisted
 * exactly once.
 */
export const burstsCase: FaultCase = {
  id: "bursts",
  title: "Bursts of simultaneous requests",
  async run(stack, runId) {
    const factory = new EventFactory(1306);
    const traffic = new Traffic();
    const sender = new Sender(stack, traffic);
    const boards: BoardSpec[] = [0, 1, 2, 3].map((i) => ({
      id: `heavy-${runId}-${i}`,
      operator: i === 1 ? "increment" : "best",
      sortOrder: "desc",
      periods: ["all", "daily"],
    }));
    await insertBoards(stack, boards);
    const logStart = statSync(stack.worker.logFile).size;
    const heavy = new Traffic();
    const heavySender = new Sender(stack, heavy);
    const heavyUntil = Date.now() + HEAVY_MS;
    await Promise.all(
      Array.from({ length: HEAVY_WRITERS }, async () => {
        while (Date.now() < heavyUntil) {
          await heavySender.send(
            Array.from({ length: 100 }, () => {
              const board = factory.random.pick(boards);
              return factory.event(
                board,
                `heavy-${runId}-p${factory.random.int(0, 4_999)}`,
                factory.score(board),
              );
            }),
          );
        }
      }),
    );
    const notAccepted: string[] = [];
    const burstBoards: BoardSpec[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const board: BoardSpec = {
        id: `burst-${runId}-${round}`,
        operator: round % 2 === 0 ? "increment" : "best",
        sortOrder: "desc",
        periods: ["all", "daily"],
      };
      boards.push(board);
      burstBoards.push(board);
      await insertBoards(stack, [board]);
      const player = (i: number) => `burst-${runId}-p${i % 500}`;
      const singles: GameEvent[] = Array.from({ length: SIMULTANEOUS }, (_, i) =>
        factory.event(board, player(i), factory.score(board)),
      );
      const batches: GameEvent[][] = Array.from({ length: SIMULTANEOUS }, (_, r) =>
        Array.from({ length: 100 }, (_, i) =>
          factory.event(board, player(r * 100 + i), factory.score(board)),
        ),
      );
      const answers = await Promise.all([
        ...singles.map((event) => sender.send([event], { single: true })),
        ...batches.map((events) => sender.send(events)),
      ]);
      for (const answer of answers) if (answer.status !== 202) notAccepted.push(`${answer.status}`);
      await Promise.all(
        Array.from({ length: SIMULTANEOUS }, () =>
          call(stack.worker.base, "GET", `/v1/leaderboards/${board.id}?period=all&limit=25`, {
            traffic,
            route: "GET page (cold)",
          }),
        ),
      );
    }

    const ids = [...sender.accepted.keys(), ...heavySender.accepted.keys()];
    const landing = await waitForPersisted(stack, ids, 180_000);
    const ledger = await checkLedger(stack, burstBoards, sender);
    const heavyLedger = await checkLedger(stack, boards.slice(0, 4), heavySender);
    const failures = [
      ...ledgerFailures(heavyLedger, stack.worker.logFile),
      ...ledgerFailures(ledger, stack.worker.logFile),
    ];
    const runtime = readFileSync(stack.worker.logFile, "utf8")
      .slice(logStart)
      .split("\n")
      .filter((l) => RUNTIME_MESSAGES.some((m) => l.includes(m)));
    if (runtime.length > 0) {
      failures.push(
        `workerd printed ${runtime.length} lines about requests crossing contexts or hanging, e.g. ${runtime[0]?.slice(0, 300)}`,
      );
    }
    if (landing.persisted < ids.length) {
      failures.push(
        `only ${fmt(landing.persisted)} of ${fmt(ids.length)} accepted events reached Postgres within 120 s; see ${stack.worker.logFile}`,
      );
    }
    for (const line of heavy.problemLines(stack.worker.logFile))
      failures.push(`heavy run: ${line}`);
    for (const line of traffic.problemLines(stack.worker.logFile)) failures.push(`bursts: ${line}`);
    const other = notAccepted.filter((s) => Number(s) < 500 && s !== "0");
    if (other.length > 0)
      failures.push(
        `${other.length} burst POSTs were refused with a 4xx (${[...new Set(other)].join(", ")})`,
      );
    const jsonAnswers = [...traffic.byRoute.values()].reduce(
      (n, m) => n + [...m.values()].reduce((a, b) => a + b, 0),
      0,
    );
    return {
      lines: [
        `heavy run: ${HEAVY_WRITERS} writers for ${HEAVY_MS / 1000} s, ${fmt(heavySender.requests)} requests (${heavy.summary()}); ${ledgerLine(heavyLedger)}`,
        `then, while the consumer works through that backlog, ${ROUNDS} rounds on cold boards of ${SIMULTANEOUS} single-event + ${SIMULTANEOUS} 100-event POSTs + ${SIMULTANEOUS} page reads at once: ` +
          `${fmt(jsonAnswers)} requests, ${fmt(jsonAnswers - traffic.problemCount())} proper JSON answers, ${fmt(traffic.problemCount())} not`,
        `by status: ${traffic.summary()}`,
        `bursts' ledger: ${fmt(sender.sentEvents)} events sent, ${ledgerLine(ledger)}; workerd lines about crossed or hung requests: ${runtime.length}`,
      ],
      failures,
    };
  },
};
