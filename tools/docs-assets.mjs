// Copies the browser bundles that the Worker serves as static assets (wrangler.toml [assets]) out
// of node_modules: the API reference's (@scalar/api-reference) for /docs, and uPlot (the console's
// charts) for /console. Both are devDependencies, so /docs and /console work offline in
// `wrangler dev` and never load a CDN script.
// Plain JavaScript: npm runs it as postinstall, before the project's own Node is on every path.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundles = [
  {
    packageDir: join(root, "node_modules", "@scalar", "api-reference"),
    files: [["dist/browser/standalone.js", "public/docs/scalar.js"]],
  },
  {
    packageDir: join(root, "node_modules", "uplot"),
    files: [
      ["dist/uPlot.iife.min.js", "public/console/vendor/uPlot.iife.min.js"],
      ["dist/uPlot.min.css", "public/console/vendor/uPlot.min.css"],
    ],
  },
];
for (const { packageDir, files } of bundles) {
  // Installed without devDependencies (a production install): nothing to copy.
  if (!existsSync(packageDir)) continue;
  for (const [from, to] of files) {
    const source = join(packageDir, from);
    const target = join(root, to);
    if (!existsSync(source)) {
      console.error(`docs-assets: ${source} is missing; reinstall with npm ci`);
      process.exit(1);
    }
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
  }
}
