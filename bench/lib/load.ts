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
 * answer, and send the next, until `seconds` have passed. `request` does one request and throws when
 * the answer is not the expected one; its duration is the latency. Keep-alive comes from the global
 * fetch (undici) connection pool. Stops early after 100 failures: something is broken, not slow.
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
    ? setInterval(() => opts.progress?.(latenciesMs.length, (performance.now() - started) / 1000), (opts.progressEverySeconds ?? 3) * 1000)
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
  return { requests: latenciesMs.length, seconds: (performance.now() - started) / 1000, latenciesMs, failures, firstFailure };
}
