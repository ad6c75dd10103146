/**
 * Small helpers over Postgres connection URLs, shared by the stack, migrations and test-database
 * creation, so every tool parses, prints and rewrites them the same way.
 */

/** Host and port a Postgres URL points at (defaults as libpq: localhost:5432). */
export function pgHostPort(databaseUrl: string): { host: string; port: number } {
  const url = parsePgUrl(databaseUrl);
  return {
    host: stripBrackets(url.hostname) || "localhost",
    port: url.port ? Number(url.port) : 5432,
  };
}

/** The URL without its password, safe to print in logs and error messages. */
export function redactPgUrl(databaseUrl: string): string {
  const url = parsePgUrl(databaseUrl);
  if (url.password) url.password = "***";
  return url.toString();
}

/**
 * Same server and credentials, another database name (test databases are siblings of the admin
 * one).
 */
export function withDatabaseName(databaseUrl: string, name: string): string {
  const url = parsePgUrl(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** True for Neon's hosted endpoints, which the driver reaches directly (no local bridge). */
export function isNeonHost(databaseUrl: string): boolean {
  const { host } = pgHostPort(databaseUrl);
  return host.endsWith(".neon.tech") || host.endsWith(".neon.build");
}

/** True when the target is this machine: the only targets the local WebSocket bridge will dial. */
export function isLoopbackHost(host: string): boolean {
  const h = stripBrackets(host).toLowerCase();
  return (
    h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1" || /^127(\.\d{1,3}){3}$/.test(h)
  );
}

function parsePgUrl(databaseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error(
      `DATABASE_URL is not a valid URL: expected postgres://user[:password]@host[:port]/database`,
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(
      `DATABASE_URL must start with postgres:// or postgresql:// (got ${url.protocol}//…): fix the URL`,
    );
  }
  return url;
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
