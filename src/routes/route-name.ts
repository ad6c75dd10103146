import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

/** Hono's "/v1/leaderboards/:board" as the OpenAPI document writes it, converted once per path. */
const names = new Map<string, string>();

/**
 * The route a request matched, as "METHOD /path/{param}" (the OpenAPI path, as the access
 * declarations and the route matrix name routes), or "unmatched" (a 404 or a CORS preflight):
 * the label of the request's data point and log line, so their cardinality is the number of
 * routes, never of paths.
 */
export function routeOf(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (!route || route.method === "ALL") continue;
    const key = `${route.method} ${route.path}`;
    let name = names.get(key);
    if (name === undefined) {
      name = key.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
      names.set(key, name);
    }
    return name;
  }
  return "unmatched";
}
