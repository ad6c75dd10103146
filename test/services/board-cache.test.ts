import { afterEach, describe, expect, it } from "vitest";
import type { Board } from "../../src/db/schema";
import { forgetBoards, getBoards } from "../../src/services/board-cache";

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
