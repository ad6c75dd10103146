// `npm run check:layers`: src/ imports only downwards. Entry points (index.ts, app.ts, routes/,
// queue/, cron/, objects/ = the Durable Object classes) sit over services/, which sit over stores/,
// which sit over domain/ and lib/. env.ts (the bindings type) may be imported by any layer but
// domain/ and lib/. Type-only imports count: a type pulled from above still couples the layers.
const ENTRY_POINTS = ["^src/(routes|queue|cron|objects)/", "^src/(app|index)[.]ts$"];
const FIX =
  "Move the shared code down a layer (or pass it in as a parameter) instead of importing upwards.";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "stores-import-no-services-or-entry-points",
      comment: `stores/ may not import services, routes, queue, cron, objects or app. ${FIX}`,
      severity: "error",
      from: { path: "^src/stores/" },
      to: { path: ["^src/services/", ...ENTRY_POINTS] },
    },
    {
      name: "services-import-no-entry-points",
      comment: `services/ may not import routes, queue, cron, objects or app. ${FIX}`,
      severity: "error",
      from: { path: "^src/services/" },
      to: { path: ENTRY_POINTS },
    },
    {
      name: "objects-are-entry-points",
      comment: `src/objects/ holds the Durable Object classes; below the entry points, reach them through stores/objects/. ${FIX}`,
      severity: "error",
      from: { path: "^src/(services|stores|domain|lib)/" },
      to: { path: "^src/objects/" },
    },
    {
      name: "domain-imports-only-domain",
      comment:
        "domain/ is pure: of the project it imports only domain/ (npm packages are fine). Take what it needs as parameters.",
      severity: "error",
      from: { path: "^src/domain/" },
      to: { dependencyTypes: ["local", "aliased"], pathNot: "^src/domain/" },
    },
    {
      name: "lib-imports-only-lib",
      comment:
        "lib/ holds utilities: of the project it imports only lib/ (npm packages are fine). Take what it needs as parameters.",
      severity: "error",
      from: { path: "^src/lib/" },
      to: { dependencyTypes: ["local", "aliased"], pathNot: "^src/lib/" },
    },
    {
      name: "env-imports-nothing",
      comment:
        "env.ts is only the bindings type that every layer may import, so it imports nothing of the project.",
      severity: "error",
      from: { path: "^src/env[.]ts$" },
      to: { dependencyTypes: ["local", "aliased"] },
    },
    {
      name: "no-circular",
      comment: "Circular import: move what both modules need into a third one lower down.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Keeps `import type` and type-only specifiers, which TypeScript would erase.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Resolves package subpaths such as hono/cors through their "exports" map, as the bundler does.
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "types", "default"],
    },
  },
};
