// `npm run lock:platforms`: puts back into package-lock.json the platform-specific optional
// packages (darwin/windows/musl builds of workerd and Biome) that npm leaves out when the registry
// it can reach does not serve them. `npm ci` refuses a lock that lacks any optional dependency,
// even one it would skip on this platform; with os/cpu recorded, npm skips them without fetching.
import { readFileSync, writeFileSync } from "node:fs";

type Entry = {
  version: string;
  optionalDependencies?: Record<string, string>;
  dev?: boolean;
  license?: string;
  [k: string]: unknown;
};

const PLATFORM: Array<[RegExp, { os: string[]; cpu: string[]; libc?: string[] }]> = [
  [/darwin-?(x)?64$|darwin-x64$/, { os: ["darwin"], cpu: ["x64"] }],
  [/darwin-arm64$/, { os: ["darwin"], cpu: ["arm64"] }],
  [/(windows|win32)-(x)?64$/, { os: ["win32"], cpu: ["x64"] }],
  [/win32-arm64$/, { os: ["win32"], cpu: ["arm64"] }],
  [/android-arm64$/, { os: ["android"], cpu: ["arm64"] }],
  [/android-x64$/, { os: ["android"], cpu: ["x64"] }],
  [/linux-arm64-musl$/, { os: ["linux"], cpu: ["arm64"], libc: ["musl"] }],
  [/linux-x64-musl$/, { os: ["linux"], cpu: ["x64"], libc: ["musl"] }],
  [/linux-arm64$/, { os: ["linux"], cpu: ["arm64"] }],
  [/linux-(x)?64$/, { os: ["linux"], cpu: ["x64"] }],
];

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8")) as { packages: Record<string, Entry> };
let added = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (lock.packages[target]) continue;
    const platform = PLATFORM.find(([pattern]) => pattern.test(name))?.[1];
    if (!platform) {
      console.warn(
        `[lock] ${name} (optional dependency of ${location || "the root"}) is missing and is not a known platform build: run npm install`,
      );
      continue;
    }
    lock.packages[target] = {
      version,
      ...platform,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(entry.license ? { license: entry.license } : {}),
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) =>
    a === "" ? -1 : b === "" ? 1 : a.localeCompare(b),
  ),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`[lock] ${added} platform-specific optional package(s) recorded`);
