import createClient, { type Client } from "openapi-fetch";
import type { paths } from "./schema";

export type { components, paths } from "./schema";

/** How to reach an Edgeboard deployment. */
export interface EdgeboardOptions {
  /** The worker's origin, e.g. `https://edgeboard.example.workers.dev`. */
  baseUrl: string;
  /** A server key (`eb_…`), a player token, or the admin key: sent as `Authorization: Bearer`. */
  token?: string;
  /** Another fetch (tests, a service binding's `fetch`); default: the global one. */
  fetch?: (request: Request) => Promise<Response>;
}

/** A client whose paths, parameters, bodies and answers are typed from the API's OpenAPI document. */
export type EdgeboardClient = Client<paths>;

/**
 * A typed client of the Edgeboard API (openapi-fetch over the generated `paths`): every call
 * returns `{ data }` for a documented success or `{ error }` with the API's error body.
 */
export function createEdgeboardClient(options: EdgeboardOptions): EdgeboardClient {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}),
  });
}
