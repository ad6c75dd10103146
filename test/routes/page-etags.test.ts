import { describe, expect, it } from "vitest";
import { api, createBoard } from "../helpers/factories";

/** GET of a board's first page with an If-None-Match header (none when undefined). */
const getPage = (board: string, ifNoneMatch?: string) =>
  api(
    `/v1/leaderboards/${board}?limit=5`,
    ifNoneMatch === undefined ? {} : { headers: { "if-none-match": ifNoneMatch } },
  );

describe("If-None-Match on a cached leaderboard page (weak comparison, lists and *)", () => {
  it("answers 304 when any tag of the list is the page's, in its weak or strong form, or *; 200 with the body otherwise", async () => {
    const board = await createBoard();
    const first = await getPage(board);
    expect(first.status).toBe(200);
    const body = await first.text();
    expect(JSON.parse(body)).toMatchObject({ board, period: "all", entries: [] });
    const etag = first.headers.get("etag") ?? "";
    const opaque = /^W\/("[0-9a-f]{20}")$/.exec(etag)?.[1];
    if (!opaque) throw new Error(`not a weak ETag: ${etag}`);
    const other = '"00000000000000000000"';

    const notModified = [
      etag,
      // Not first in the list.
      `W/${other}, ${etag}`,
      `${other},${etag}`,
      // The strong form of the weak tag: If-None-Match compares weakly (RFC 9110 13.1.2).
      opaque,
      `${other}, ${opaque}`,
      "*",
    ];
    for (const header of notModified) {
      const res = await getPage(board, header);
      expect([header, res.status]).toEqual([header, 304]);
      expect(await res.text()).toBe("");
      expect(res.headers.get("etag")).toBe(etag);
    }

    for (const header of [other, `W/${other}, "${opaque.slice(1, -2)}"`, `W/${other}, ${other}`]) {
      const res = await getPage(board, header);
      expect([header, res.status]).toEqual([header, 200]);
      expect(res.headers.get("etag")).toBe(etag);
      expect(res.headers.get("x-edge-cache")).toBe("HIT");
      expect(await res.text()).toBe(body);
    }
  });
});
