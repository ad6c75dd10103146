// Copies the API reference's browser bundle (@scalar/api-reference, a devDependency) into the
// Worker's static assets, so /docs works offline in `wrangler dev` and never loads a CDN script.
// Plain JavaScript: npm runs it as postinstall, before the project's own Node is on every path.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const packageDir = join(root, "node_modules", "@scalar", "api-reference");
const source = join(packageDir, "dist", "browser", "standalone.js");
const target = join(root, "public", "docs", "scalar.js");
// Installed without devDependencies (a production install): nothing to copy.
if (!existsSync(packageDir)) process.exit(0);
if (!existsSync(source)) {
  console.error(`docs-assets: ${source} is missing; reinstall with npm ci`);
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
