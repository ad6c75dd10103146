import type { FaultCase } from "../lib/case.ts";
import {
  type BoardSpec,
  compareRecords,
  createBoards,
  EventFactory,
  type GameEvent,
  objectTop,
  postgresTop,
  receivedTimes,
  referenceFold,
  Sender,
  topDifference,
  waitForPersisted,
} from "../lib/events.ts";
import { callOk, fmt, sleep, Traffic } from "../lib/http.ts";
import type { Stack } from "../lib/stack.ts";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/**
 * How long a poison event may take to show up in GET /v1/admin/dlq (the DLQ consumer batches for up
 * to 5 s).
 */
const DLQ_WAIT_MS = 45_000;

/**
 * poison events. On an increment board, two events of 2^53-1 for one player
 * (their sum is past the safe-integer range the API promises): the board must keep updating for
 * the others, its page must equal Postgres, and no score anywhere may leave the safe range. Events
 * whose metadata or payload holds "\u0000" (Postgres' jsonb cannot store it), sent with ordinary
 * neighbours: each must be refused at the edge or listed in GET /v1/admin/dlq (or stored), never
 * silently vanish, while its neighbours land. Every poison event is dead-lettered at most once.
 */
export const poisonCase: FaultCase = {
  id: "poison",
  title: "Poison events",
  async run(stack, runId) {
    const incr: BoardSpec = {
      id: `poison-incr-${runId}`,
      operator: "increment",
      sortOrder: "desc",
      periods: ["all"],
    };
    const best: BoardSpec = {
      id: `poison-best-${runId}`,
      operator: "best",
      sortOrder: "desc",
      periods: ["all"],
    };
    await createBoards(stack, [incr, best]);
    const factory = new EventFactory(1304);
    const traffic = new Traffic();
    const sender = new Sender(stack, traffic);
    const player = (i: number) => `poison-${runId}-p${i}`;
    const whale = `poison-${runId}-whale`;
    const normal: GameEvent[] = [];
    const sendNormal = async (count: number) => {
      const events = Array.from({ length: count }, () => {
        const board = factory.random.pick([incr, best]);
        return factory.event(board, player(factory.random.int(0, 19)), factory.score(board));
      });
      normal.push(...events);
      await sender.send(events, { retryForMs: 20_000 });
    };

    await sendNormal(100);
    // The overflow: two maximal increments for one player, in separate requests (separate batches).
    const huge = [factory.event(incr, whale, MAX_SAFE), factory.event(incr, whale, MAX_SAFE)];
    await sender.send([huge[0] as GameEvent], { retryForMs: 20_000 });
    await sleep(1_500);
    await sender.send([huge[1] as GameEvent], { retryForMs: 20_000 });
    await sleep(1_500);
    // NUL in metadata (a score event) and in payload (an analytics event), among ordinary events.
    const nulScore = factory.event(best, player(1), 777_777, {
      metadata: { note: "before\u0000after" },
    });
    const nulAnalytics = factory.analytics(player(2), "level_up", { note: "x\u0000y" });
    const neighbours = Array.from({ length: 20 }, () =>
      factory.event(incr, player(factory.random.int(0, 19)), factory.score(incr)),
    );
    normal.push(...neighbours);
    await sender.send(
      [...neighbours.slice(0, 10), nulScore, nulAnalytics, ...neighbours.slice(10)],
      { retryForMs: 20_000 },
    );
    // The board must keep updating for the others after all of that.
    await sendNormal(100);

    const poison = [...huge, nulScore, nulAnalytics];
    const normalIds = normal.map((e) => e.id);
    const landing = await waitForPersisted(stack, normalIds, 60_000);
    const failures: string[] = [];
    if (landing.persisted < normalIds.length) {
      failures.push(
        `only ${fmt(landing.persisted)} of ${fmt(normalIds.length)} ordinary events (the poison events' neighbours and later events) ` +
          `reached Postgres within 60 s: the poison blocked them; see ${stack.worker.logFile}`,
      );
    }

    // Where did each poison event end up: refused, stored, dead-lettered (and how often)?
    const fate = new Map<string, string>();
    const deadline = Date.now() + DLQ_WAIT_MS;
    let dlq: DlqRow[] = [];
    for (;;) {
      dlq = await readDlq(stack);
      const stored = await storedIds(
        stack,
        poison.map((e) => e.id),
      );
      const refusedAtWrite = await refusedIds(
        stack,
        poison.map((e) => e.id),
      );
      for (const e of poison) {
        const listed = dlq.filter((l) => JSON.stringify(l.body ?? "").includes(e.id)).length;
        const rejected = sender.rejected.get(e.id);
        fate.set(
          e.id,
          rejected
            ? `refused (${rejected.code})`
            : refusedAtWrite.has(e.id)
              ? "stored, refused by the board's bounds (score_rejections)"
              : stored.has(e.id)
                ? "stored"
                : listed > 0
                  ? `dead-lettered ×${listed}`
                  : "nowhere",
        );
      }
      const unsettled = [nulScore, nulAnalytics].some((e) => fate.get(e.id) === "nowhere");
      if (!unsettled || Date.now() > deadline) break;
      await sleep(1_000);
    }
    const tableCounts = await deadLetterCounts(
      stack,
      poison.map((e) => e.id),
    );
    for (const e of [nulScore, nulAnalytics]) {
      if (fate.get(e.id) === "nowhere") {
        failures.push(
          `the event with "\\u0000" in its ${e.metadata ? "metadata" : "payload"} (${e.id}) was answered 202 but is neither in Postgres ` +
            `nor in GET /v1/admin/dlq after ${DLQ_WAIT_MS / 1000} s: it vanished. Look for "dead letters: could not record" in ` +
            `${stack.worker.logFile} (the DLQ consumer cannot store a body Postgres' jsonb refuses) or reject it at the edge`,
        );
      }
    }
    if (!fate.get((huge[1] as GameEvent).id)?.includes("score_rejections")) {
      failures.push(
        `the second 2^53-1 increment (${(huge[1] as GameEvent).id}) would take its record past the safe integers, so the batch ` +
          `statement must refuse it and list it in score_rejections; it is ${fate.get((huge[1] as GameEvent).id)}`,
      );
    }
    for (const e of poison) {
      const n = tableCounts.get(e.id) ?? 0;
      if (n > 1)
        failures.push(
          `poison event ${e.id} was dead-lettered ${n} times (dead_letters rows naming it); once is the most`,
        );
    }

    // The increment board: the whale's record, safe-integer bounds, the others' records, the page.
    const rows = await stack.query<{ player_id: string; score: string }>(
      "select player_id, score::text as score from scores where board_id = $1 and period_key = 'all'",
      [incr.id],
    );
    const whaleRow = rows.find((r) => r.player_id === whale);
    const unsafe = rows.filter(
      (r) => Math.abs(Number(r.score)) > MAX_SAFE || !Number.isSafeInteger(Number(r.score)),
    );
    for (const r of unsafe) {
      failures.push(
        `Postgres holds ${r.player_id} = ${r.score} on ${incr.id}, outside ±(2^53-1): the scores the API serves as JSON numbers ` +
          "are no longer exact (bound increments end to end, e.g. reject the event that would overflow)",
      );
    }
    const landed = normal.filter((e) => sender.accepted.has(e.id));
    const others = referenceFold(
      [incr, best],
      landed,
      await receivedTimes(
        stack,
        landed.map((e) => e.id),
      ),
    );
    const wrong = (await compareRecords(stack, [incr, best], others)).filter(
      (w) => !w.includes(whale),
    );
    if (wrong.length > 0)
      failures.push(
        `${wrong.length} ordinary records differ from the fold after the poison: ${wrong.slice(0, 3).join("; ")}`,
      );
    const page = await objectTop(stack, incr.id, "all", 10);
    const difference = topDifference(page, await postgresTop(stack, incr.id, "all", 10));
    if (difference)
      failures.push(
        `the page of ${incr.id} (Durable Object) differs from Postgres after the poison: ${difference}`,
      );
    const unsafeOnPage = page.top.filter((e) => !Number.isSafeInteger(Number(e.score)));
    if (unsafeOnPage.length > 0) {
      failures.push(
        `the page shows ${unsafeOnPage.map((e) => `${e.playerId}=${e.score}`).join(", ")}: not a safe integer`,
      );
    }
    for (const line of traffic.problemLines(stack.worker.logFile)) failures.push(line);

    const describe = (label: string, e: GameEvent) => `${label} ${fate.get(e.id)}`;
    return {
      lines: [
        `2 × (2^53-1) on increment board for one player: ${describe("1st", huge[0] as GameEvent)}, ${describe("2nd", huge[1] as GameEvent)}; ` +
          `Postgres record ${whaleRow?.score ?? "none"}; ${unsafe.length} unsafe scores in Postgres, ${unsafeOnPage.length} on the page; ` +
          `page top-10 vs Postgres: ${difference ? "differs" : "equal"}`,
        `"\\u0000" in metadata: ${fate.get(nulScore.id)}, in an analytics payload: ${fate.get(nulAnalytics.id)}; ` +
          `dead_letters rows per poison event: ${poison.map((e) => tableCounts.get(e.id) ?? 0).join(", ")}; GET /v1/admin/dlq lists ${dlq.length}`,
        `${fmt(normalIds.length)} ordinary events around them: ${fmt(landing.persisted)} persisted, ${wrong.length} records differ from the fold`,
      ],
      failures,
    };
  },
};

type DlqRow = { id: number; messageId: string; error: string; body: unknown };

async function readDlq(stack: Stack): Promise<DlqRow[]> {
  const list = await callOk<{ deadLetters: DlqRow[] }>(
    stack.worker.base,
    "GET",
    "/v1/admin/dlq?limit=1000",
    { headers: stack.admin },
  );
  return list.deadLetters;
}

async function refusedIds(stack: Stack, ids: string[]): Promise<Set<string>> {
  const rows = await stack.query<{ event_id: string }>(
    "select event_id from score_rejections where event_id = any($1::text[])",
    [ids],
  );
  return new Set(rows.map((r) => r.event_id));
}

async function storedIds(stack: Stack, ids: string[]): Promise<Set<string>> {
  const rows = await stack.query<{ event_id: string }>(
    "select event_id from events where event_id = any($1::text[])",
    [ids],
  );
  return new Set(rows.map((r) => r.event_id));
}

/** dead_letters rows per event id (a letter names its event in its message id or its body). */
async function deadLetterCounts(stack: Stack, ids: string[]): Promise<Map<string, number>> {
  const rows = await stack.query<{ id: string; n: number }>(
    `select i.id, count(d.*)::int as n from unnest($1::text[]) as i(id)
     left join dead_letters d on d.message_id like '%' || i.id || '%' or d.body::text like '%' || i.id || '%'
     group by i.id`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}
