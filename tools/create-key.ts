// npm run key -- <name> <scope...>: creates a server key on a running worker (npm run dev by
// default) and prints it once. BASE_URL and ADMIN_KEY override where and with what; ADMIN_KEY
// otherwise comes from .dev.vars, else npm run dev's default.
import { existsSync, readFileSync } from "node:fs";

const SCOPES = [
  "events:write",
  "scores:write-any",
  "tokens:mint",
  "boards:admin",
  "tournaments:admin",
  "read",
];
const [name, ...scopes] = process.argv.slice(2);
if (!name || scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s))) {
  console.error(`usage: npm run key -- <name> <scope...>   scopes: ${SCOPES.join(", ")}`);
  console.error("example: npm run key -- game-server events:write tokens:mint");
  process.exit(2);
}
const base = process.env.BASE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
const adminKey = process.env.ADMIN_KEY ?? devVar("ADMIN_KEY") ?? "dev-admin-key";

const res = await fetch(`${base}/v1/admin/keys`, {
  method: "POST",
  headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
  body: JSON.stringify({ name, scopes }),
}).catch((error: Error) => {
  console.error(
    `could not reach ${base} (${error.cause ?? error.message}): start it with npm run dev, or set BASE_URL`,
  );
  process.exit(1);
});
const body = (await res.json().catch(() => ({}))) as {
  key?: string;
  prefix?: string;
  error?: { message?: string };
};
if (res.status !== 201 || !body.key) {
  console.error(`POST /v1/admin/keys answered ${res.status}: ${body.error?.message ?? "no key"}`);
  process.exit(1);
}
console.log(body.key);
console.error(
  `created ${body.prefix} (${scopes.join(", ")}) on ${base}: store it now, it is not shown again`,
);

function devVar(key: string): string | undefined {
  if (!existsSync(".dev.vars")) return undefined;
  const line = readFileSync(".dev.vars", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${key}=`));
  return line?.slice(key.length + 1).trim() || undefined;
}
