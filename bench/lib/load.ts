/** What one closed-loop run observed. */
export interface LoadResult {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  /** Requests whose check threw (wrong status, wrong header…): not counted in `requests`. */
  failures: number;
  firstFailure?: string;
}

/**
 * A closed-loop load generator: `concurrency` workers each send a request, wait for its whole
 * answer, and send the next, until `seconds` have passed. `request` does one request and throws
 * when the answer is not the expected one; its duration is the latency. Keep-alive comes from the
 * global fetch (undici) connection pool. Stops early after 100 failures: something is broken, not
 * slow.
 */
export async function closedLoop(opts: {
  concurrency: number;
  seconds: number;
  request: (i: number) => Promise<void>;
  progress?: (done: number, elapsedSeconds: number) => void;
  progressEverySeconds?: number;
}): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const ticker = opts.progress
    ? setInterval(
        () => opts.progress?.(latenciesMs.length, (performance.now() - started) / 1000),
        (opts.progressEverySeconds ?? 3) * 1000,
      )
    : undefined;
  const worker = async () => {
    while (performance.now() < deadline && failures < 100) {
      const i = next++;
      const t0 = performance.now();
      try {
        await opts.request(i);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        failures += 1;
        firstFailure ??= (error as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  return {
    requests: latenciesMs.length,
    seconds: (performance.now() - started) / 1000,
    latenciesMs,
    failures,
    firstFailure,
  };
}

/** What one open-loop run observed. */
export interface OpenLoopResult {
  /** Requests answered as expected. */
  requests: number;
  seconds: number;
  /**
   * From each request's scheduled start, so a stalled server cannot hide its queue (no coordinated
   * omission); from when it was sent if that was earlier (a timer may fire up to a millisecond
   * early, and the wait before the schedule is no part of the answer's latency).
   */
  latenciesMs: number[];
  failures: number;
  firstFailure?: string;
}

/**
 * An open-loop load generator: requests start on a fixed schedule (`rate` per second) whether or
 * not earlier ones have answered, as players' requests do; latency runs from the scheduled start.
 * At most `maxInFlight` wait at once (a server far slower than the rate fails the run instead of
 * queueing without bound).
 */
export async function openLoop(opts: {
  rate: number;
  seconds: number;
  request: (i: number) => Promise<void>;
  maxInFlight?: number;
}): Promise<OpenLoopResult> {
  const maxInFlight = opts.maxInFlight ?? 512;
  const latenciesMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let failures = 0;
  let firstFailure: string | undefined;
  const interval = 1000 / opts.rate;
  const total = Math.floor(opts.rate * opts.seconds);
  const started = performance.now();
  for (let i = 0; i < total && failures < 100; i++) {
    const scheduled = started + i * interval;
    const wait = scheduled - performance.now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    if (inFlight.size >= maxInFlight) {
      failures += 1;
      firstFailure ??= `more than ${maxInFlight} requests waiting: the server cannot keep up with ${opts.rate} req/s`;
      continue;
    }
    const from = Math.min(scheduled, performance.now());
    const p: Promise<void> = opts
      .request(i)
      .then(
        () => {
          latenciesMs.push(performance.now() - from);
        },
        (error: unknown) => {
          failures += 1;
          firstFailure ??= (error as Error).message;
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return {
    requests: latenciesMs.length,
    seconds: (performance.now() - started) / 1000,
    latenciesMs,
    failures,
    firstFailure,
  };
}
