// npm run check:dev-limits: starts `npm run dev` (embedded PGlite, no Redis) on a free port and
// shows that its per-PoP rate limits are enforced and reset, as wrangler.toml configures them:
// the admin class (120 per minute per address) is spent, the next request is a 429 with
// Retry-After and the JSON error, and once the window passes requests go through again.
import { getPort } from "../bench/lib/ports.ts";
import { startDevServer } from "../bench/lib/server.ts";

const ADMIN_LIMIT = 120;
const say = (line: string) => console.log(`[dev-limits] ${line}`);

const server = await startDevServer(
  { ADMIN_KEY: "dev-limits-admin-key", DATABASE_URL: undefined, REDIS_URL: undefined },
  await getPort(),
  () => {},
);
try {
  const headers = { authorization: "Bearer dev-limits-admin-key" };
  const get = () => fetch(`${server.base}/v1/admin/metrics`, { headers });
  // A budget spent by an earlier run (miniflare keeps the counts in .wrangler/state) ends first.
  await untilAnswered(get);
  let answered = 0;
  let refused: Response | undefined;
  for (let i = 0; i <= ADMIN_LIMIT + 5 && !refused; i++) {
    const res = await get();
    if (res.status === 429) {
      refused = res;
      break;
    }
    if (res.status !== 200)
      throw new Error(`GET /v1/admin/metrics answered ${res.status}: ${await res.text()}`);
    answered += 1;
    await res.body?.cancel().catch(() => {});
  }
  if (!refused)
    throw new Error(
      `${ADMIN_LIMIT + 6} admin requests within a minute were all answered: the rate limit is not enforced under npm run dev`,
    );
  const body = (await refused.json()) as { error?: { code?: string } };
  const retryAfter = Number(refused.headers.get("retry-after"));
  if (body.error?.code !== "RATE_LIMITED" || !(retryAfter > 0)) {
    throw new Error(
      `the 429 lacks its JSON error or Retry-After: ${JSON.stringify(body)}, retry-after ${refused.headers.get("retry-after")}`,
    );
  }
  say(
    `${answered} admin requests answered, then 429 RATE_LIMITED with Retry-After ${retryAfter} s; waiting for the window to pass`,
  );
  const started = Date.now();
  await untilAnswered(get);
  say(`reset after ${Math.round((Date.now() - started) / 1000)} s: requests are answered again`);
} finally {
  await server.stop();
}

/** Polls every 5 s until a request is answered 200 (the window passed); 75 s at most. */
async function untilAnswered(get: () => Promise<Response>): Promise<void> {
  const started = Date.now();
  for (;;) {
    const res = await get();
    await res.body?.cancel().catch(() => {});
    if (res.status === 200) return;
    if (res.status !== 429) throw new Error(`GET /v1/admin/metrics answered ${res.status}`);
    if (Date.now() - started > 75_000)
      throw new Error("the admin budget did not reset within 75 s");
    await new Promise((r) => setTimeout(r, 5_000));
  }
}
