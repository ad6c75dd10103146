// `npm run bench`: both benchmarks, one after the other (ingestion, then reads), each printing its
// own progress and results. Exits non-zero if either fails. bench:read needs a real Postgres and
// Redis, so both are asked for up front rather than after the ingestion run.
//   DATABASE_URL (required)   REDIS_URL (required)   BENCH_ONLY=ingest|read (one of them)
import { spawn } from "node:child_process";

const BENCHMARKS = [
  { name: "ingest", file: "bench/ingest.ts" },
  { name: "read", file: "bench/read.ts" },
] as const;

const say = (line: string) => console.log(`[bench] ${line}`);

const missing = ["DATABASE_URL", "REDIS_URL"].filter((name) => !process.env[name]);
if (missing.length > 0) {
  console.error(
    `[bench] needs a real Postgres and Redis: set ${missing.join(" and ")}, e.g.\n` +
      "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench\n" +
      "(npm run bench:ingest alone also runs on the embedded database)",
  );
  process.exit(2);
}

const only = process.env.BENCH_ONLY;
const selected = BENCHMARKS.filter((b) => !only || b.name === only);
if (selected.length === 0) {
  console.error(
    `[bench] BENCH_ONLY=${only} names no benchmark; use one of: ${BENCHMARKS.map((b) => b.name).join(", ")}`,
  );
  process.exit(2);
}

function run(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // process.execPath: the Node that npm put first on the PATH (the node@22 devDependency).
    const child = spawn(process.execPath, [file], { stdio: "inherit", env: process.env });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const failed: string[] = [];
for (const [i, bench] of selected.entries()) {
  say(`${i + 1}/${selected.length}: bench:${bench.name} (${bench.file})`);
  const started = Date.now();
  const code = await run(bench.file);
  say(
    `bench:${bench.name} ${code === 0 ? "finished" : `failed (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  if (code !== 0) failed.push(bench.name);
}
if (failed.length > 0) {
  say(`failed: ${failed.map((n) => `bench:${n}`).join(", ")}; its output above says why`);
  process.exit(1);
}
say("all benchmarks finished");
