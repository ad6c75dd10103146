// Puts the browser bundles the Worker serves as static assets (wrangler.toml [assets]) in place,
// so /docs and /console work offline under `wrangler dev` and load no CDN script:
//  - the API reference's (@scalar/api-reference's standalone build) for /docs. Only that one file
//    is needed: it is taken from the package's tarball (`npm pack`, served from npm's cache after
//    the first install) rather than installing the package, whose ~300 MB of dependencies (Vue,
//    an AI SDK, …) nothing here uses;
//  - uPlot (a devDependency with no dependencies of its own) for the console's charts.
// Plain JavaScript: npm runs it as postinstall, before the project's own Node is on every path.
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Keep in step with @scalar/hono-api-reference's client-side-rendering when upgrading it. */
const VERSION = "1.76.4";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "public", "docs", "scalar.js");
/** Names the version fetched (outside the assets), so an install after an upgrade fetches again. */
const stamp = join(root, "node_modules", ".cache", "docs-assets", `scalar-${VERSION}`);

copyUplot();
if (existsSync(target) && existsSync(stamp)) process.exit(0);
const work = mkdtempSync(join(tmpdir(), "docs-assets-"));
try {
  const packed = execFileSync(
    "npm",
    ["pack", `@scalar/api-reference@${VERSION}`, "--pack-destination", work, "--silent"],
    { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  ).trim();
  execFileSync("tar", [
    "-xzf",
    join(work, packed),
    "-C",
    work,
    "package/dist/browser/standalone.js",
  ]);
  rmSync(dirname(target), { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  renameSync(join(work, "package", "dist", "browser", "standalone.js"), target);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${VERSION}\n`);
} catch (error) {
  console.error(
    `docs-assets: could not fetch @scalar/api-reference@${VERSION} (${error instanceof Error ? error.message.split("\n")[0] : error}); ` +
      "/docs needs it: run npm install again when the npm registry (or its cache) is reachable",
  );
  process.exit(1);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** uPlot's files for /console; skipped in an install without devDependencies. */
function copyUplot() {
  const packageDir = join(root, "node_modules", "uplot");
  if (!existsSync(packageDir)) return;
  for (const [from, to] of [
    ["dist/uPlot.iife.min.js", "public/console/vendor/uPlot.iife.min.js"],
    ["dist/uPlot.min.css", "public/console/vendor/uPlot.min.css"],
  ]) {
    const source = join(packageDir, from);
    if (!existsSync(source)) {
      console.error(`docs-assets: ${source} is missing; reinstall with npm ci`);
      process.exit(1);
    }
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(source, join(root, to));
  }
}
