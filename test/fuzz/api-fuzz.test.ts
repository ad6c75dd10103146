import { beforeAll, describe, expect, it } from "vitest";
import { mintPlayerToken } from "../../src/services/access/player-tokens";
import { createKey, expiredToken, playerToken, unknownKey } from "../access/credentials";
import { makeRandom } from "../domain/prng";
import {
  api,
  createBoard,
  eventId,
  eventually,
  postEvents,
  testEnv,
  uniqueId,
} from "../helpers/factories";
import { type Credentials, junkAuthorizations } from "./credentials";
import { INCREMENT_LIMIT } from "./event-bodies";
import type { Random } from "./hostile";
import { type Operation, operationsOf } from "./operations";
import { type FuzzRequest, hintsFor, requestFor, type World, wrongMethodFor } from "./requests";
import { type Owned, objectPages, ownedRows, rowsFromFuzz, SentStrings } from "./snapshot";
import { type Answer, failureReport, Tally, verdict } from "./verdicts";

/**
 * Thousands of hostile requests over every operation of /openapi.json, with no credential, junk
 * ones, and valid ones (admin key, player token, a read-only key) behind which every request is
 * built to be refused. The API must answer each with a documented JSON error or a harmless
 * success, never a 5xx, and nothing may be written.
 *
 * Every choice is drawn from the seeded PRNG of the domain tests (test/domain/prng.ts). The seed is
 * new on every run (so CI keeps exploring) and printed with any failure; replay one with
 * `VITE_FUZZ_SEED=<seed> npx vitest run test/fuzz` (Vite passes VITE_* variables to the worker).
 */
const viteEnv =
  (import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env ?? {};
/** VITE_FUZZ_REQUESTS raises it for a longer local hunt. */
const REQUESTS = Math.max(10_000, Number(viteEnv.VITE_FUZZ_REQUESTS) || 0);
const BATCH = 50;
const SEED = Number(viteEnv.VITE_FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);

let operations: Operation[] = [];
let world: World;
let owned: Owned;

async function seedBoard(
  board: string,
  players: string[],
  scores: (i: number) => number,
): Promise<void> {
  const occurredAt = new Date().toISOString();
  const events = players.map((playerId, i) => ({
    id: eventId(),
    type: "score",
    playerId,
    boardId: board,
    score: scores(i),
    occurredAt,
  }));
  const res = await postEvents(events);
  const body = (await res.json()) as { accepted: number };
  if (res.status !== 202 || body.accepted !== players.length)
    throw new Error(`seeding ${board}: ${res.status} ${JSON.stringify(body)}`);
}

/**
 * The valid credentials, and junk ones: a key never issued, an expired token, tokens signed with
 * another secret or altered.
 */
async function credentialsFor(player: string, reader: string): Promise<Credentials> {
  const token = await playerToken(player);
  const otherSecret = await mintPlayerToken(
    { ...testEnv, PLAYER_TOKEN_SECRET: "not-the-secret-0123456789abcdef0123456789" },
    player,
    600,
  );
  const [head, , signature] = token.split(".");
  const claims = btoa(JSON.stringify({ sub: "admin", iss: "edgeboard", exp: 4_102_444_800 }));
  const altered = `${head}.${claims.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_")}.${signature}`;
  const junk = junkAuthorizations(makeRandom(SEED ^ 0x5eed), {
    unknownKey: await unknownKey(),
    expiredToken: await expiredToken(player),
    forgedTokens: [otherSecret?.token ?? altered, altered],
    admin: testEnv.ADMIN_KEY,
  });
  return { admin: testEnv.ADMIN_KEY, player: token, reader, junk };
}

beforeAll(async () => {
  const document = await (await api("/openapi.json")).json();
  operations = operationsOf(document as Parameters<typeof operationsOf>[0]);

  const [openBoard, privateBoard, authoritativeBoard] = await Promise.all([
    createBoard({ periods: ["all", "daily"] }),
    createBoard({ public: false }),
    createBoard({ operator: "increment", clientWrites: false, maxIncrement: INCREMENT_LIMIT }),
  ]);
  const player = uniqueId("fz-player");
  const others = [1, 2, 3, 4].map((i) => `${player}-${i}`);
  await Promise.all([
    seedBoard(openBoard, [player, ...others], (i) => 100 - i),
    seedBoard(privateBoard, [player, ...others], (i) => 10 * i),
    seedBoard(authoritativeBoard, others, (i) => i + 1),
  ]);
  const boards = [openBoard, privateBoard, authoritativeBoard];
  // The pages must hold the seeded scores before the "before" snapshot is taken.
  await eventually(async () =>
    (await objectPages(boards)).every((page) => page.includes(others[3] as string))
      ? true
      : undefined,
  );

  const reader = await createKey(["read"], "fuzz reader");
  const credentials = await credentialsFor(player, reader.key);

  const eventOperation = operations.find((o) => o.id === "POST /v1/events");
  const eventSchema = eventOperation?.body?.schema.anyOf?.find((s) => s.properties?.playerId);
  if (!eventSchema)
    throw new Error("POST /v1/events documents no Event schema in its request body");
  world = {
    eventSchema,
    openBoard,
    authoritativeBoard,
    player,
    hints: hintsFor({ openBoard, authoritativeBoard, player }, privateBoard),
    credentials,
    maxBatch: Number(testEnv.EVENTS_MAX_BATCH),
  };
  owned = { boards, players: [player, ...others], keyIds: [reader.id] };
});

/**
 * Every operation once per round, those with a body twice, and now and then a method a path does
 * not have.
 */
function plan(rng: Random): FuzzRequest[] {
  const round = operations.flatMap((o) => (o.body ? [o, o] : [o]));
  const requests: FuzzRequest[] = [];
  for (let i = 0; requests.length < REQUESTS; i++) {
    if (rng.next() < 0.05) {
      const wrong = wrongMethodFor(operations, world, rng);
      if (wrong) requests.push(wrong);
      continue;
    }
    requests.push(requestFor(round[i % round.length] as Operation, world, rng));
  }
  return requests;
}

async function send(request: FuzzRequest): Promise<Answer> {
  const res = await api(request.path, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  if (res.status === 101) {
    // A live feed opened: nothing to read, close it.
    res.webSocket?.accept();
    res.webSocket?.close(1000, "fuzz");
    return { status: 101, contentType: "", text: "", allowOrigin: null };
  }
  return {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    text: await res.text(),
    allowOrigin: res.headers.get("access-control-allow-origin"),
  };
}

/**
 * Strings a request carries in its path and JSON body: any row holding one was written by the fuzz.
 */
function record(sent: SentStrings, request: FuzzRequest): void {
  for (const segment of request.path.split(/[/?&=]/)) {
    try {
      sent.addFrom(decodeURIComponent(segment));
    } catch {
      sent.addFrom(segment);
    }
  }
  if (typeof request.body !== "string" || request.body.length > 200_000) return;
  try {
    sent.addFrom(JSON.parse(request.body));
  } catch {
    // Not JSON: nothing the API could have stored.
  }
}

describe("API fuzz over every operation of /openapi.json", () => {
  it("declares the access of every operation", () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(operations.filter((o) => !o.access).map((o) => o.id)).toEqual([]);
  });

  it(
    `answers ${REQUESTS.toLocaleString("en-US")} hostile requests with documented errors and writes nothing`,
    async () => {
      const rng = makeRandom(SEED);
      const requests = plan(rng);
      const sent = new SentStrings();
      for (const request of requests) record(sent, request);

      const boardsBefore = await ownedRows(owned);
      const pagesBefore = await objectPages(owned.boards);
      // After the snapshot queries returned, so every row the setup wrote is older (one clock: this
      // machine's).
      const since = new Date();

      const tally = new Tally();
      const failures: string[] = [];
      const started = performance.now();
      for (let i = 0; i < requests.length; i += BATCH) {
        await Promise.all(
          requests.slice(i, i + BATCH).map(async (request) => {
            let answer: Answer;
            try {
              answer = await send(request);
            } catch (error) {
              answer = {
                status: 599,
                contentType: "",
                text: `the worker threw: ${String(error)}`,
                allowOrigin: null,
              };
            }
            tally.add(request, answer.status);
            const problem = verdict(request, answer);
            if (!problem) return;
            // 5xx first in the report: they are the worst news.
            if (answer.status >= 500) failures.unshift(failureReport(request, answer, problem));
            else failures.push(failureReport(request, answer, problem));
          }),
        );
      }
      const seconds = (performance.now() - started) / 1000;

      // Anything a request had queued is consumed within the queues' batch timeouts (5 s at most).
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const boardsAfter = await ownedRows(owned);
      const pagesAfter = await objectPages(owned.boards);
      const written = await rowsFromFuzz(since, sent);

      console.log(tally.summary(SEED, operations.length, seconds));
      const replay = `seed ${SEED} (replay: VITE_FUZZ_SEED=${SEED} npx vitest run test/fuzz)`;
      expect(
        failures.length,
        `${failures.length} bad answers, ${replay}; the first ones:\n${failures.slice(0, 5).join("\n\n")}`,
      ).toBe(0);
      expect(tally.byOperation.size, replay).toBe(operations.length + 1);
      expect(boardsAfter, `rows the fuzz owns changed, ${replay}`).toEqual(boardsBefore);
      expect(pagesAfter, `Durable Object pages changed, ${replay}`).toEqual(pagesBefore);
      expect(written, `rows written during the run carry strings the fuzz sent, ${replay}`).toEqual(
        [],
      );
    },
    Math.max(240_000, REQUESTS * 20),
  );
});
