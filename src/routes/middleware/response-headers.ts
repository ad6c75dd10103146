import type { Context } from "hono";

/**
 * Edits the answered response's headers in place. Hono's `c.header()` after the handler returns
 * builds a new Response for each call; a response whose headers are immutable (one a Durable
 * Object answered, passed through) is copied once instead.
 */
export function editResponseHeaders(c: Context, edit: (headers: Headers) => void): void {
  try {
    edit(c.res.headers);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    c.res = new Response(c.res.body, c.res);
    edit(c.res.headers);
  }
}
