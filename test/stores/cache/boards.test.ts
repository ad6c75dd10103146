import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../../../src/lib/errors";
import {
  type BoardLoader,
  forgetBoards,
  getBoards,
  STALE_IF_ERROR_MS,
} from "../../../src/stores/cache/boards";
import type { Board } from "../../../src/stores/postgres/schema";
import { testEnv } from "../../helpers/factories";
import { ownerContext, within } from "../../helpers/request-contexts";

const board = (id: string, name = id) => ({ id, name }) as unknown as Board;

/** A loader whose answer the test releases, counting its calls. */
function gatedLoader(name: string) {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const calls: string[][] = [];
  const load = async (ids: string[]) => {
    calls.push(ids);
    await gate;
    return ids.map((id) => board(id, name));
  };
  return { load, calls, release: () => release() };
}

afterEach(() => forgetBoards());

describe("board cache", () => {
  it("serves a fresh entry without loading, and a stale one to everybody but the one caller reloading it", async () => {
    const first = gatedLoader("v1");
    const loading = getBoards(["b"], first.load);
    first.release();
    expect((await loading).get("b")?.name).toBe("v1");

    const idle = gatedLoader("unused");
    expect((await getBoards(["b"], idle.load)).get("b")?.name).toBe("v1");
    expect(idle.calls).toHaveLength(0);

    // 31 s later the entry is stale: the first caller reloads (and waits), the next one does not.
    const later = Date.now() + 31_000;
    const second = gatedLoader("v2");
    const reloading = getBoards(["b"], second.load, later);
    const meanwhile = await getBoards(["b"], second.load, later);
    expect(meanwhile.get("b")?.name).toBe("v1");
    expect(second.calls).toEqual([["b"]]);
    second.release();
    expect((await reloading).get("b")?.name).toBe("v2");
  });

  it("stops serving a stale entry after the stale window: everybody waits for the reload", async () => {
    const first = gatedLoader("v1");
    first.release();
    await getBoards(["b"], first.load);

    const muchLater = Date.now() + 61_000;
    const slow = gatedLoader("v2");
    const a = getBoards(["b"], slow.load, muchLater);
    let bDone = false;
    const b = getBoards(["b"], slow.load, muchLater).then((r) => {
      bDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(bDone).toBe(false);
    slow.release();
    expect((await a).get("b")?.name).toBe("v2");
    expect((await b).get("b")?.name).toBe("v2");
    expect(slow.calls).toHaveLength(1);
  });
});

/** A loader that cannot reach Postgres, counting its calls. */
function unreachable() {
  const calls: string[][] = [];
  const load: BoardLoader = async (ids) => {
    calls.push(ids);
    throw new Error("could not reach Postgres at 127.0.0.1:1 (connection refused); is it running?");
  };
  return { load, calls };
}

async function failureOf(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

const HOUR_MS = 3_600_000;

describe("board cache across requests", () => {
  it("a waiter whose loading request is torn down loads the board itself instead of hanging", async () => {
    // Another request context starts the load (its own timer is Postgres) and is torn down first.
    const owner = await ownerContext(testEnv, () => {
      void getBoards(
        ["orphan"],
        () => new Promise((r) => setTimeout(() => r([board("orphan", "owner")]), 500)),
      ).catch(() => {});
    });
    const waiter = getBoards(["orphan"], async (ids) => ids.map((id) => board(id, "waiter")));
    await owner.tearDown();
    // Before: the waiter awaited the owner's promise, which never settles. Now it polls and, once
    // the owner's load is abandoned, loads the board itself.
    const answer = await within(waiter, 10_000);
    expect(answer).not.toBe("timed out");
    expect(answer === "timed out" ? undefined : answer.get("orphan")?.name).toBe("waiter");
  });

  it("concurrent callers in different requests share one load through the table, not a promise", async () => {
    const slow = gatedLoader("shared");
    const started = getBoards(["s"], slow.load);
    const joined = Promise.all(Array.from({ length: 10 }, () => getBoards(["s"], slow.load)));
    await new Promise((r) => setTimeout(r, 20));
    slow.release();
    expect((await started).get("s")?.name).toBe("shared");
    expect((await joined).every((m) => m.get("s")?.name === "shared")).toBe(true);
    expect(slow.calls).toEqual([["s"]]);
  });
});

describe("board cache when Postgres is unreachable (stale-if-error)", () => {
  it("serves a definition Postgres gave within the bound, and asks Postgres again at most every few seconds", async () => {
    await getBoards(["b"], async (ids) => ids.map((id) => board(id, "v1")));
    const down = unreachable();
    const later = Date.now() + 2 * HOUR_MS;
    expect((await getBoards(["b"], down.load, later)).get("b")?.name).toBe("v1");
    expect((await getBoards(["b"], down.load, later)).get("b")?.name).toBe("v1");
    expect(down.calls).toEqual([["b"]]);
    // Postgres back: the next attempt (after the retry interval) reloads it.
    const back = gatedLoader("v2");
    back.release();
    await new Promise((r) => setTimeout(r, 5_100));
    expect((await getBoards(["b"], back.load, later)).get("b")?.name).toBe("v2");
  });

  it("answers 503 with Retry-After beyond the bound, and when nothing was ever loaded", async () => {
    await getBoards(["old"], async (ids) => ids.map((id) => board(id)));
    const beyond = await failureOf(
      getBoards(["old"], unreachable().load, Date.now() + STALE_IF_ERROR_MS + 60_000),
    );
    expect(beyond.status).toBe(503);
    expect(beyond.code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(beyond.headers?.["retry-after"]).toMatch(/^\d+$/);
    expect(beyond.message).toContain('"old"');

    const never = await failureOf(getBoards(["never-seen"], unreachable().load));
    expect(never.status).toBe(503);
    expect(never.headers?.["retry-after"]).toBeDefined();
  });

  it("does not keep answering 'unknown board' for an id once its negative entry has expired", async () => {
    expect((await getBoards(["ghost"], async () => [])).has("ghost")).toBe(false);
    const down = unreachable();
    const failure = await failureOf(getBoards(["ghost"], down.load, Date.now() + 3_000));
    expect(failure.status).toBe(503);
    expect(down.calls).toEqual([["ghost"]]);
  });

  it("fails a request with several boards whole when one has no usable copy (never half-judged)", async () => {
    await getBoards(["known"], async (ids) => ids.map((id) => board(id)));
    const failure = await failureOf(
      getBoards(["known", "unseen"], unreachable().load, Date.now() + 60_000),
    );
    expect(failure.message).toContain('"unseen"');
    expect(failure.message).not.toContain('"known"');
  });
});
