import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitOpenError } from "../../src/lib/circuit-breaker";

const OPTIONS = {
  failures: 3,
  windowMs: 10_000,
  coolDownMs: 5_000,
  maxCoolDownMs: 20_000,
  probeTimeoutMs: 4_000,
};

function clocked() {
  const clock = { now: 1_000_000 };
  const breaker = new CircuitBreaker("Dep", OPTIONS, () => clock.now);
  const fail = () => breaker.run(() => Promise.reject(new Error("down"))).catch((e: unknown) => e);
  const pass = () => breaker.run(() => Promise.resolve("ok")).catch((e: unknown) => e);
  return { clock, breaker, fail, pass };
}

describe("CircuitBreaker", () => {
  it("opens after `failures` failures within the window and then refuses without calling", async () => {
    const { breaker, fail } = clocked();
    await fail();
    await fail();
    expect(breaker.state()).toBe("closed");
    await fail();
    expect(breaker.state()).toBe("open");
    let called = false;
    const refused = await breaker
      .run(async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
    expect(breaker.snapshot()).toMatchObject({
      state: "open",
      opened: 1,
      skipped: 1,
      lastError: "down",
    });
  });

  it("forgets failures older than the window, and a success clears them", async () => {
    const { clock, breaker, fail, pass } = clocked();
    await fail();
    await fail();
    clock.now += 10_001;
    await fail();
    expect(breaker.state()).toBe("closed");
    await fail();
    await pass();
    await fail();
    expect(breaker.state()).toBe("closed");
  });

  it("lets one probe through after the cool-down; its success closes the circuit", async () => {
    const { clock, breaker, fail } = clocked();
    for (let i = 0; i < 3; i++) await fail();
    clock.now += 5_000;
    expect(breaker.state()).toBe("half_open");
    let release: (value: string) => void = () => {};
    const probe = breaker.run(() => new Promise<string>((resolve) => (release = resolve)));
    // While the probe is out, everyone else is still refused.
    expect(
      await breaker.run(() => Promise.resolve("other")).catch((e: unknown) => e),
    ).toBeInstanceOf(CircuitOpenError);
    release("ok");
    expect(await probe).toBe("ok");
    expect(breaker.state()).toBe("closed");
    expect(await breaker.run(() => Promise.resolve("after"))).toBe("after");
  });

  it("a failed probe opens it again for twice as long, capped", async () => {
    const { clock, breaker, fail } = clocked();
    for (let i = 0; i < 3; i++) await fail();
    const cooldowns: number[] = [];
    for (let round = 0; round < 4; round++) {
      const retryAt = breaker.snapshot().retryAt ?? 0;
      cooldowns.push(retryAt - clock.now);
      clock.now = retryAt;
      await fail();
    }
    expect(cooldowns).toEqual([5_000, 10_000, 20_000, 20_000]);
    expect(breaker.snapshot().opened).toBe(5);
  });

  it("a probe that never finishes stops blocking after probeTimeoutMs", async () => {
    const { clock, breaker, fail, pass } = clocked();
    for (let i = 0; i < 3; i++) await fail();
    clock.now += 5_000;
    void breaker.run(() => new Promise(() => {}));
    expect(await pass()).toBeInstanceOf(CircuitOpenError);
    clock.now += 4_000;
    expect(await pass()).toBe("ok");
    expect(breaker.state()).toBe("closed");
  });

  it("errors that are answers (isFailure false) do not count against the dependency", async () => {
    const { breaker } = clocked();
    for (let i = 0; i < 5; i++) {
      await breaker
        .run(
          () => Promise.reject(new Error("not loaded")),
          () => false,
        )
        .catch(() => undefined);
    }
    expect(breaker.state()).toBe("closed");
  });
});
