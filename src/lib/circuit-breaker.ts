/**
 * A circuit breaker for one optional dependency, per isolate (Redis: every caller has a fallback).
 * Closed: calls go through. After `failures` failures within `windowMs` it opens: calls are
 * refused at once (CircuitOpenError) for a cool-down, so a dead dependency costs nothing instead
 * of a timeout per call. Then it is half-open: one call goes through as a probe (others are still
 * refused); its success closes the circuit, its failure opens it again for twice as long (up to
 * `maxCoolDownMs`). A probe that never finishes (its request was cancelled) stops counting after
 * `probeTimeoutMs`, so another call can probe. State is plain numbers: nothing a request owns is
 * ever held here, or awaited by another request.
 */
export interface BreakerOptions {
  failures: number;
  windowMs: number;
  coolDownMs: number;
  maxCoolDownMs: number;
  probeTimeoutMs: number;
}

export type BreakerState = "closed" | "open" | "half_open";

export class CircuitOpenError extends Error {
  constructor(what: string, retryInMs: number) {
    super(
      `${what} is skipped for ${Math.ceil(retryInMs / 1000)} s ` +
        "after repeated failures (circuit open)",
    );
    this.name = "CircuitOpenError";
  }
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures counted in the current window (closed) or since it opened. */
  recentFailures: number;
  /** Times it has opened since the isolate started. */
  opened: number;
  /** Calls refused while open, since the isolate started. */
  skipped: number;
  /** When an open circuit lets its next probe through (epoch ms), else null. */
  retryAt: number | null;
  lastError: string | null;
}

export class CircuitBreaker {
  #failures: number[] = [];
  #openUntil = 0;
  #coolDownMs: number;
  #probeSince: number | null = null;
  #opened = 0;
  #skipped = 0;
  #lastError: string | null = null;

  constructor(
    readonly name: string,
    readonly options: BreakerOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.#coolDownMs = options.coolDownMs;
  }

  state(): BreakerState {
    const now = this.now();
    if (this.#openUntil === 0) return "closed";
    return now < this.#openUntil ? "open" : "half_open";
  }

  /**
   * Runs `call` unless the circuit refuses it (throws CircuitOpenError). `isFailure` tells which
   * errors count against the dependency (an answer such as "not loaded yet" proves it is up).
   */
  async run<T>(
    call: () => Promise<T>,
    isFailure: (error: unknown) => boolean = () => true,
  ): Promise<T> {
    const probe = this.#admit();
    try {
      const value = await call();
      this.#succeeded();
      return value;
    } catch (error) {
      if (isFailure(error)) this.#failed(error, probe);
      else this.#succeeded();
      throw error;
    }
  }

  snapshot(): BreakerSnapshot {
    const state = this.state();
    return {
      state,
      recentFailures: this.#failures.length,
      opened: this.#opened,
      skipped: this.#skipped,
      retryAt: state === "closed" ? null : this.#openUntil,
      lastError: this.#lastError,
    };
  }

  /** Whether this call may go through, and whether it is the half-open probe. */
  #admit(): boolean {
    const now = this.now();
    if (this.#openUntil === 0) return false;
    if (now < this.#openUntil) return this.#refuse(this.#openUntil - now);
    const probing =
      this.#probeSince !== null && now - this.#probeSince < this.options.probeTimeoutMs;
    if (probing)
      return this.#refuse(this.options.probeTimeoutMs - (now - (this.#probeSince ?? now)));
    this.#probeSince = now;
    return true;
  }

  #refuse(retryInMs: number): never {
    this.#skipped += 1;
    throw new CircuitOpenError(this.name, retryInMs);
  }

  #succeeded(): void {
    this.#failures = [];
    this.#openUntil = 0;
    this.#probeSince = null;
    this.#coolDownMs = this.options.coolDownMs;
  }

  #failed(error: unknown, probe: boolean): void {
    const now = this.now();
    this.#lastError = error instanceof Error ? error.message : String(error);
    if (probe) {
      this.#probeSince = null;
      this.#coolDownMs = Math.min(this.#coolDownMs * 2, this.options.maxCoolDownMs);
      this.#open(now);
      return;
    }
    if (this.#openUntil !== 0) return;
    this.#failures = this.#failures.filter((at) => now - at < this.options.windowMs);
    this.#failures.push(now);
    if (this.#failures.length >= this.options.failures) this.#open(now);
  }

  #open(now: number): void {
    this.#openUntil = now + this.#coolDownMs;
    this.#opened += 1;
  }
}
