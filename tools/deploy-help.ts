/**
 * `npm run deploy` on purpose deploys nothing: plain `wrangler deploy` ships the top-level
 * wrangler.toml, the development configuration (ENVIRONMENT=development and its dev-only
 * switches, the dev Redis prefix, the unsuffixed queues). A deploy names its environment.
 */
console.error(
  [
    "npm run deploy does not deploy: choose the environment.",
    "  npm run deploy:staging      wrangler deploy --env staging",
    "  npm run deploy:production   wrangler deploy --env production",
    "See docs/operations.md, Deploy.",
  ].join("\n"),
);
process.exit(1);
