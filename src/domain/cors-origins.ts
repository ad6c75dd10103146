/**
 * CORS_ORIGINS: a comma-separated list of exact origins (`https://game.example`); empty or unset
 * allows no cross-origin access. Exact matches only: a wildcard would hand every site's visitors
 * the API.
 */
export function parseCorsOrigins(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
}

/** Entries of CORS_ORIGINS no browser would ever send as its Origin (so they could never match). */
export function corsOriginProblems(raw: string | undefined): string[] {
  return parseCorsOrigins(raw).flatMap((entry) => {
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    return origin === entry
      ? []
      : [
          `CORS_ORIGINS entry "${entry}" is not an origin ` +
            "(scheme://host[:port], no path or trailing slash): fix it in wrangler.toml [vars]",
        ];
  });
}
