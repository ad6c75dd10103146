// `npm run test:browser`: the console and the embed page in a real headless browser (Debian's
// chromium, driven by playwright-core, which downloads no browser). It starts the production
// bundle in workerd (bench/lib/workerd.ts) behind miniflare's entry, which serves the static
// assets as the platform does, on a fresh database on DATABASE_URL's server (dropped afterwards)
// and REDIS_URL under a key prefix of its own, then asserts what a person sees:
//   - the console: sign in with the admin key, the live top-N of a board updating after an event
//     is POSTed, a player lookup, the ingestion charts, a dead letter listed with its error and
//     the replay buttons emptying the list;
//   - the embed page: a public board live in an iframe of another origin, a private one refused;
//   - the headers: the console is never framed, the embed page may be.
// Quiet when all is well: one line per view and the screenshots' paths. Exits non-zero on a failure.
//
//   CHROMIUM=/path/to/chromium   another browser binary (default /usr/bin/chromium)
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { type Browser, chromium, type Page } from "playwright-core";
import { startWorkerdServer, type WorkerdServer } from "../../bench/lib/workerd.ts";
import {
  createTestDatabase,
  dropDatabase,
  type LocalStack,
  startLocalStack,
  withDatabase,
} from "../../tools/local-stack/index.ts";
import { runMigrations } from "../../tools/migrate.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = join(REPO_ROOT, "test-output", "screenshots");
const ADMIN_KEY = "browser-test-admin-key";
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };
const WAIT_MS = 20_000;

const say = (line: string) => console.log(`[browser] ${line}`);

class Failure extends Error {}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Failure(message);
}

async function call(base: string, method: string, path: string, body?: unknown, headers = ADMIN) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    redirect: "manual",
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? safeJson(text) : null };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function callOk(base: string, method: string, path: string, body?: unknown) {
  const answer = await call(base, method, path, body);
  check(answer.status < 300, `${method} ${path} answered ${answer.status}: ${answer.text}`);
  return answer.json as Record<string, unknown>;
}

function scoreEvent(board: string, playerId: string, score: number) {
  return {
    id: randomUUID(),
    type: "score",
    playerId,
    boardId: board,
    score,
    occurredAt: new Date(Date.now() - 1000).toISOString(),
  };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const giveUpAt = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Failure(`${what}: not within ${WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The text of every row of a table body, as a person reads it. */
async function rowsOf(page: Page, selector: string): Promise<string[]> {
  return page.locator(`${selector} tbody tr`).allInnerTexts();
}

async function shot(page: Page, name: string, shots: string[]): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  shots.push(path);
}

/** Runs a view's steps; a failure says what the page showed, and saves a screenshot of it. */
async function showing(page: Page, name: string, steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (error) {
    const path = join(SHOTS, `FAILED-${name}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    const seen = await page
      .locator("body")
      .textContent()
      .catch(() => "");
    const text = seen ?? "";
    throw new Failure(
      `${(error as Error).message.split("\n")[0]}\n  the page showed: ${text.replace(/\s+/g, " ").slice(0, 800)}\n  screenshot: ${path}`,
    );
  }
}

async function consoleViews(
  browser: Browser,
  base: string,
  board: string,
  addDeadLetters: () => Promise<void>,
  shots: string[],
): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  await showing(page, "console", () => consoleSteps(page, base, board, addDeadLetters, shots));
  await page.close();
}

async function consoleSteps(
  page: Page,
  base: string,
  board: string,
  addDeadLetters: () => Promise<void>,
  shots: string[],
): Promise<void> {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${base}/console`);
  await page.fill("#key", "not-the-key");
  await page.click("#key-form button");
  await page.locator("#key-error", { hasText: "refused" }).waitFor({ timeout: WAIT_MS });
  await page.fill("#key", ADMIN_KEY);
  await page.click("#key-form button");

  // (1) The live top-N, then an event that takes the lead.
  await page.selectOption("#board", board);
  await page.locator("#live-status", { hasText: "live" }).waitFor({ timeout: WAIT_MS });
  await page.locator("#top tbody tr").nth(2).waitFor({ timeout: WAIT_MS });
  const before = await rowsOf(page, "#top");
  check(/^1\s+alice\s+300$/.test(before[0] ?? ""), `console top-N row 1: "${before[0]}"`);
  await callOk(base, "POST", "/v1/events", scoreEvent(board, "dave", 500));
  await page
    .locator("#top tbody tr")
    .first()
    .filter({ hasText: "dave" })
    .waitFor({ timeout: WAIT_MS });
  const after = await rowsOf(page, "#top");
  check(
    /^1\s+dave\s+500$/.test(after[0] ?? "") && /^2\s+alice\s+300$/.test(after[1] ?? ""),
    `console top-N after dave's 500: ${JSON.stringify(after.slice(0, 3))}`,
  );
  await page.fill("#player", "bob");
  await page.click("#player-form button");
  await page.locator("#player-result", { hasText: "rank 3 of 4" }).waitFor({ timeout: WAIT_MS });
  await page.locator("#around tbody tr.me", { hasText: "bob" }).waitFor({ timeout: WAIT_MS });
  check((await rowsOf(page, "#around")).length === 4, "around bob lists the 4 players");
  await shot(page, "console-boards", shots);
  say(`ok   console: live top-N of ${board} updated by a POSTed event; player lookup and around`);

  // (2) Ingestion: cards, and the charts once two samples are in (5 s apart).
  await page.click("nav [data-view=ingestion]");
  await page.locator("#ingest-cards .card").nth(5).waitFor({ timeout: WAIT_MS });
  const cards = (await page.locator("#ingest-cards").textContent()) ?? "";
  check(/Accepted \(window\)/.test(cards), `ingestion cards: ${cards}`);
  await page.locator("#chart-hourly .uplot").waitFor({ timeout: WAIT_MS });
  await page.locator("#chart-rate .uplot").waitFor({ timeout: WAIT_MS });
  await shot(page, "console-ingestion", shots);
  say("ok   console: ingestion cards and charts (events/s, lag, hourly rollups)");

  // (3) Dead letters: listed with their error; replaying one, then all, empties the list.
  await addDeadLetters();
  await page.click("nav [data-view=dlq]");
  await page.locator("#dlq tbody tr").nth(1).waitFor({ timeout: WAIT_MS });
  const letters = await rowsOf(page, "#dlq");
  check(
    letters.length === 2 && letters.every((row) => row.includes("retries exhausted: browser test")),
    `dead letters listed: ${JSON.stringify(letters)}`,
  );
  await shot(page, "console-dlq", shots);
  await page.locator("#dlq tbody tr").first().getByRole("button", { name: "Replay" }).click();
  await eventually("one letter left after replaying one", async () =>
    (await page.locator("#dlq tbody tr").count()) === 1 ? true : undefined,
  );
  await page.click("#dlq-replay-all");
  await page.locator("#dlq-empty").waitFor({ state: "visible", timeout: WAIT_MS });
  check((await page.locator("#dlq tbody tr").count()) === 0, "the DLQ list is empty");
  await shot(page, "console-dlq-replayed", shots);
  // The replayed events land: erin (from a letter) reaches the live top-N.
  await page.click("nav [data-view=boards]");
  await page.locator("#top tbody tr", { hasText: "erin" }).waitFor({ timeout: WAIT_MS });
  say("ok   console: dead letters listed with their error; Replay and Replay all emptied the list");
  check(problems.length === 0, `console page errors: ${problems.join("; ")}`);
}

async function embedViews(
  browser: Browser,
  base: string,
  board: string,
  privateBoard: string,
  shots: string[],
): Promise<void> {
  // A studio's page, on an origin of its own (another port), framing the embed view.
  const studio = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      `<!doctype html><h3 style="font-family:sans-serif">A studio's site</h3>
       <iframe src="${base}/embed/${board}?limit=5" style="width:440px;height:300px;border:1px solid #ccc"></iframe>`,
    );
  });
  await new Promise<void>((r) => studio.listen(0, "127.0.0.1", r));
  const { port } = studio.address() as AddressInfo;
  const page = await browser.newPage({ viewport: { width: 520, height: 560 } });
  try {
    await showing(page, "embed", () =>
      embedSteps(page, `http://localhost:${port}/`, base, board, privateBoard, shots),
    );
  } finally {
    await page.close();
    studio.close();
  }
}

async function embedSteps(
  page: Page,
  studioUrl: string,
  base: string,
  board: string,
  privateBoard: string,
  shots: string[],
): Promise<void> {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(studioUrl);
  const frame = page.frameLocator("iframe");
  await frame.locator("#status", { hasText: "Live" }).waitFor({ timeout: WAIT_MS });
  await frame.locator("#entries li").nth(2).waitFor({ timeout: WAIT_MS });
  await callOk(base, "POST", "/v1/events", scoreEvent(board, "frank", 900));
  await frame
    .locator("#entries li")
    .first()
    .filter({ hasText: "frank" })
    .waitFor({ timeout: WAIT_MS });
  const items = await frame.locator("#entries li").allInnerTexts();
  check(items.length <= 5, `embed limit=5 shows ${items.length} rows`);
  await shot(page, "embed-framed", shots);
  say(`ok   embed: /embed/${board} framed by another origin, live, updated by a POSTed event`);

  await page.goto(`${base}/embed/${privateBoard}`);
  await page.locator("#status", { hasText: "not public" }).waitFor({ timeout: WAIT_MS });
  check((await page.locator("#entries li").count()) === 0, "a private board shows no row");
  await page.goto(`${base}/embed/no-such-board`);
  await page.locator("#status", { hasText: "does not exist" }).waitFor({ timeout: WAIT_MS });
  await shot(page, "embed-missing", shots);
  say("ok   embed: a private board is refused, a missing one said so");
  check(problems.length === 0, `embed page errors: ${problems.join("; ")}`);
}

async function headers(base: string, board: string): Promise<void> {
  const consolePage = await call(base, "GET", "/console/");
  const csp = consolePage.headers.get("content-security-policy") ?? "";
  check(consolePage.status === 200, `GET /console/ answered ${consolePage.status}`);
  check(
    consolePage.headers.get("x-frame-options") === "DENY" && csp.includes("frame-ancestors 'none'"),
    `the console may be framed: x-frame-options ${consolePage.headers.get("x-frame-options")}, csp ${csp}`,
  );
  check(!consolePage.text.includes(ADMIN_KEY), "no key in the console's HTML");
  const embed = await call(base, "GET", `/embed/${board}`);
  check(embed.status === 200, `GET /embed/${board} answered ${embed.status}`);
  check(
    embed.headers.get("x-frame-options") === null &&
      (embed.headers.get("content-security-policy") ?? "").includes("frame-ancestors *"),
    "the embed page may not be framed",
  );
  const byQuery = await call(base, "GET", `/embed/?board=${board}`);
  check(
    byQuery.status === 200 &&
      (byQuery.headers.get("content-security-policy") ?? "").includes("frame-ancestors *"),
    `GET /embed/?board= answered ${byQuery.status} without the embed page's headers`,
  );
  const direct = await call(base, "GET", "/console/index.html");
  check(
    direct.status === 302 && direct.headers.get("location") === "/console/",
    `GET /console/index.html answered ${direct.status} (the HTML without its headers?)`,
  );
  say("ok   headers: the console is never framed, the embed page may be");
}

async function main(): Promise<number> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    say("DATABASE_URL is unset: point it at a Postgres (postgres://postgres@127.0.0.1:5432/test)");
    return 2;
  }
  const redisUrl = process.env.REDIS_URL || undefined;
  const runId = `${Date.now().toString(36)}_${process.pid}`;
  const dbName = `edgeboard_browser_${runId}`;
  const redisPrefix = `eb:browser:${runId}:`;
  const cleanups: Array<() => Promise<unknown>> = [];
  const shots: string[] = [];
  let server: WorkerdServer | undefined;
  let failed = false;
  mkdirSync(SHOTS, { recursive: true });
  try {
    const adminStack: LocalStack = await startLocalStack({ databaseUrl: adminUrl });
    cleanups.push(() => adminStack.stop());
    const dbUrl = await createTestDatabase(adminUrl, adminStack.neonWsProxy, dbName);
    cleanups.push(() => dropDatabase(adminUrl, adminStack.neonWsProxy, dbName));
    await runMigrations({ databaseUrl: dbUrl, neonWsProxy: adminStack.neonWsProxy, log: () => {} });
    if (redisUrl) {
      cleanups.push(async () => {
        const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await redis.connect();
        const keys = await redis.keys(`${redisPrefix}*`);
        if (keys.length) await redis.del(...keys);
        await redis.quit();
      });
    }
    // The worker process reads WORKERD_VARS (vars over wrangler.toml's): its own Redis prefix.
    process.env.WORKERD_VARS = JSON.stringify({ REDIS_KEY_PREFIX: redisPrefix });
    server = await startWorkerdServer(
      { BENCH_DATABASE_URL: dbUrl, REDIS_URL: redisUrl, ADMIN_KEY },
      () => {},
      { assets: true },
    );
    // miniflare's entry: the asset router in front of the Worker, as on the platform.
    const base = server.proxyBase.replace(/\/$/, "");

    const board = `arena-${runId}`.replace(/_/g, "-");
    const privateBoard = `hidden-${runId}`.replace(/_/g, "-");
    const spec = { operator: "best", sortOrder: "desc", periods: ["all"] };
    await callOk(base, "POST", "/v1/admin/boards", { id: board, name: "Arena", ...spec });
    await callOk(base, "POST", "/v1/admin/boards", {
      id: privateBoard,
      name: "Hidden",
      ...spec,
      public: false,
    });
    const seeded = await callOk(base, "POST", "/v1/events", {
      events: [
        scoreEvent(board, "alice", 300),
        scoreEvent(board, "bob", 200),
        scoreEvent(board, "carol", 100),
        scoreEvent(privateBoard, "alice", 1),
      ],
    });
    let last = "";
    await eventually(
      `the seeded scores are ranked (POST /v1/events: ${JSON.stringify(seeded)})`,
      async () => {
        const page = await call(base, "GET", `/v1/leaderboards/${board}`);
        last = page.text;
        return (page.json as { total?: number } | null)?.total === 3 ? true : undefined;
      },
    ).catch((error: Error) => {
      throw new Failure(`${error.message}; last page: ${last}`);
    });

    const addDeadLetters = () =>
      withDatabase(dbUrl, adminStack.neonWsProxy, async (pool) => {
        for (const [n, player] of ["erin", "gus"].entries()) {
          await pool.query(
            "insert into dead_letters (queue, message_id, body, error, attempts) values ($1, $2, $3, $4, $5)",
            [
              "edgeboard-score-events",
              `browser-${runId}-${n}`,
              // The queue's message, as the consumer got it (times in ms).
              JSON.stringify({
                kind: "events",
                events: [
                  {
                    ...scoreEvent(board, player, 250 + n),
                    occurredAt: Date.now() - 1000,
                    receivedAt: Date.now(),
                  },
                ],
              }),
              `retries exhausted: browser test (${player})`,
              12,
            ],
          );
        }
      });

    await headers(base, board);
    const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
    const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
    cleanups.push(() => browser.close());
    await consoleViews(browser, base, board, addDeadLetters, shots);
    await embedViews(browser, base, board, privateBoard, shots);
  } catch (error) {
    failed = true;
    say(`FAIL ${error instanceof Failure ? error.message : ((error as Error).stack ?? error)}`);
    if (server) say(`the worker's last lines:\n    ${server.lines.slice(-25).join("\n    ")}`);
  } finally {
    await server?.stop().catch(() => {});
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => say(`cleanup: ${(error as Error).message}`));
  }
  for (const path of shots) say(`screenshot ${path}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
