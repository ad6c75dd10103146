// `npm run test:mutation`: the curated mutation check. Each mutant of mutants.ts is a small,
// realistic bug in a module where a silent bug costs most; the runner applies it in place, runs
// the mutant's related test files one by one (`vitest run <file>`, the project's config, so inside
// workerd against the Postgres and Redis of DATABASE_URL and REDIS_URL) until one fails, and
// restores the file. A mutant is killed when a file fails, survives when all of them pass. One
// line per mutant, then the killed ratio and the survivors with the bug each stands for; exits 1
// under the threshold.
//
//   npm run test:mutation                          every mutant
//   npm run test:mutation -- --only id,id          only these mutants
//   npm run test:mutation -- --list                list the mutants and check they still apply
//   npm run test:mutation -- --threshold 85        the killed percentage to reach (default 90)
//   MUTATION_KEEP_LOGS=1                            keep each run's vitest output (paths printed)
//
// The source is restored after every mutant, also on an exception, Ctrl-C or SIGTERM; if the
// runner was killed outright (SIGKILL), the next run restores the file from its backup first.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";
import type { Mutant } from "./mutant.ts";
import { MUTANTS } from "./mutants.ts";

const ROOT = resolve(import.meta.dirname, "../..");
/** A test file's run that takes this long is stopped; the mutant counts as killed (it hung them). */
const TIMEOUT_MS = 6 * 60_000;
/** Where the original of the file under mutation waits while a mutant is applied. */
const BACKUP = join(
  tmpdir(),
  `edgeboard-mutation-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}.json`,
);

const say = (line: string) => console.log(`[mutation] ${line}`);

/**
 * killed: a related test failed; timeout: the run hung and was stopped (killed too); error: vitest
 * failed without a failing test (the stack did not start): not counted as killed.
 */
type Verdict = "killed" | "survived" | "timeout" | "error";

interface Options {
  only: string[] | undefined;
  list: boolean;
  threshold: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { only: undefined, list: false, threshold: 90 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--list") options.list = true;
    else if (arg === "--only") options.only = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (arg === "--threshold") options.threshold = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}: use --only id,id, --list or --threshold N`);
  }
  if (!Number.isFinite(options.threshold) || options.threshold < 0 || options.threshold > 100) {
    throw new Error("--threshold takes a percentage between 0 and 100");
  }
  return options;
}

/** The mutated text, or why the mutant no longer applies (the code moved: fix the list). */
function mutate(mutant: Mutant, source: string): { text: string } | { problem: string } {
  if (typeof mutant.find === "string") {
    const count = source.split(mutant.find).length - 1;
    if (count !== 1) return { problem: `its find text occurs ${count} times, not once` };
    return { text: source.replace(mutant.find, () => mutant.replace) };
  }
  const flags = mutant.find.flags.includes("g") ? mutant.find.flags : `${mutant.find.flags}g`;
  const count = [...source.matchAll(new RegExp(mutant.find.source, flags))].length;
  if (count !== 1) return { problem: `its find pattern matches ${count} times, not once` };
  return {
    text: source.replace(new RegExp(mutant.find.source, mutant.find.flags), mutant.replace),
  };
}

/** Every mutant must apply exactly once and name test files that exist. */
function checkList(mutants: Mutant[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const mutant of mutants) {
    if (ids.has(mutant.id)) problems.push(`${mutant.id}: the id is used twice`);
    ids.add(mutant.id);
    const path = join(ROOT, mutant.file);
    if (!existsSync(path)) {
      problems.push(`${mutant.id}: ${mutant.file} does not exist`);
      continue;
    }
    const result = mutate(mutant, readFileSync(path, "utf8"));
    if ("problem" in result) problems.push(`${mutant.id}: in ${mutant.file}, ${result.problem}`);
    else if (result.text === readFileSync(path, "utf8")) {
      problems.push(`${mutant.id}: its replacement changes nothing`);
    }
    if (mutant.tests.length === 0) problems.push(`${mutant.id}: it names no test file`);
    for (const test of mutant.tests) {
      if (!existsSync(join(ROOT, test))) problems.push(`${mutant.id}: ${test} does not exist`);
    }
  }
  return problems;
}

/** Puts back a file a previous run left mutated (it was killed before it could restore it). */
function restoreLeftover(): void {
  if (!existsSync(BACKUP)) return;
  const { file, original } = JSON.parse(readFileSync(BACKUP, "utf8")) as {
    file: string;
    original: string;
  };
  writeFileSync(file, original);
  rmSync(BACKUP);
  say(`restored ${file}, left mutated by a run that was killed`);
}

let applied: { path: string; original: string } | undefined;
let child: ReturnType<typeof spawn> | undefined;
/** Where each run's vitest output goes (removed at the end unless MUTATION_KEEP_LOGS is set). */
let logDir: string | undefined;

function restore(): void {
  if (!applied) return;
  writeFileSync(applied.path, applied.original);
  rmSync(BACKUP, { force: true });
  applied = undefined;
}

function onSignal(signal: NodeJS.Signals): void {
  restore();
  if (child?.pid) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (logDir && !process.env.MUTATION_KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
  say(`stopped by ${signal}; the source is restored`);
  process.exit(130);
}

/**
 * Runs the related test files one at a time, in the list's order, and stops at the first that
 * fails: most mutants die in their first file, and a lone file starts faster than all of them at
 * once. Resolves with the verdict and writes vitest's output to logFile.
 */
async function runTests(tests: string[], logFile: string): Promise<Verdict> {
  const outputs: string[] = [];
  try {
    for (const test of tests) {
      const { verdict, output } = await runTestFile(test);
      outputs.push(`== ${test}\n${output}`);
      if (verdict !== "survived") return verdict;
    }
    return "survived";
  } finally {
    writeFileSync(logFile, outputs.join("\n"));
  }
}

function runTestFile(test: string): Promise<{ verdict: Verdict; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const out: Buffer[] = [];
    // --bail: the first failing test kills the mutant; the rest need not run.
    child = spawn(join(ROOT, "node_modules/.bin/vitest"), ["run", "--bail=1", test], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so a timeout or Ctrl-C stops workerd and the bridges with it.
      detached: true,
    });
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => out.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child?.pid) process.kill(-child.pid, "SIGKILL");
    }, TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      child = undefined;
      const output = stripVTControlCharacters(Buffer.concat(out).toString("utf8"));
      let verdict: Verdict;
      if (timedOut) verdict = "timeout";
      else if (code === 0) verdict = "survived";
      // vitest's summary: "Test Files  1 failed | 1 passed (2)"; "Tests  2 failed | ..."
      else if (/^\s*Test(?: Files|s)\s+\d+ failed/m.test(output)) verdict = "killed";
      else verdict = "error";
      resolvePromise({ verdict, output });
    });
  });
}

async function runMutant(mutant: Mutant, logFile: string): Promise<Verdict> {
  const path = join(ROOT, mutant.file);
  const original = readFileSync(path, "utf8");
  const result = mutate(mutant, original);
  if ("problem" in result) throw new Error(`${mutant.id}: ${result.problem}`);
  writeFileSync(BACKUP, JSON.stringify({ file: path, original }));
  applied = { path, original };
  try {
    writeFileSync(path, result.text);
    return await runTests(mutant.tests, logFile);
  } finally {
    restore();
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  restoreLeftover();
  const unknown = (options.only ?? []).filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length > 0) {
    say(`no mutant ${unknown.join(", ")}; --list shows them`);
    return 2;
  }
  const selected = options.only ? MUTANTS.filter((m) => options.only?.includes(m.id)) : MUTANTS;
  const problems = checkList(selected);
  if (options.list) {
    for (const m of selected) say(`${m.id.padEnd(34)} ${m.file}  ${m.why}`);
  }
  if (problems.length > 0) {
    for (const problem of problems) say(`✗ ${problem}`);
    say("the list no longer matches the code: update tools/mutation/mutants.ts");
    return 2;
  }
  if (options.list) {
    say(`${selected.length} mutants, all apply`);
    return 0;
  }

  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  const logs = mkdtempSync(join(tmpdir(), "edgeboard-mutation-"));
  logDir = logs;
  const keepLogs = Boolean(process.env.MUTATION_KEEP_LOGS);
  const started = performance.now();
  const survivors: Mutant[] = [];
  const errors: Mutant[] = [];
  let killed = 0;
  try {
    for (const [index, mutant] of selected.entries()) {
      const mutantStarted = performance.now();
      const logFile = join(logs, `${mutant.id}.log`);
      const verdict = await runMutant(mutant, logFile);
      if (verdict === "survived") survivors.push(mutant);
      else if (verdict === "error") errors.push(mutant);
      else killed += 1;
      const seconds = ((performance.now() - mutantStarted) / 1000).toFixed(0);
      const where = keepLogs ? `  ${logFile}` : "";
      say(
        `${String(index + 1).padStart(2)}/${selected.length} ${verdict.padEnd(8)} ${mutant.id} (${seconds} s)${where}`,
      );
    }
  } finally {
    restore();
    if (!keepLogs) rmSync(logs, { recursive: true, force: true });
  }

  const ratio = (100 * killed) / selected.length;
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  say(
    `killed ${killed} of ${selected.length} (${ratio.toFixed(1)}%), threshold ${options.threshold}%, ${minutes} min`,
  );
  for (const m of survivors) say(`  survived ${m.id} (${m.file}): ${m.why}`);
  for (const m of errors) {
    say(`  error    ${m.id}: its tests could not run (MUTATION_KEEP_LOGS=1 keeps the output)`);
  }
  if (ratio < options.threshold) {
    say(
      "under the threshold: write the test that fails on each survivor's bug (its related test files are in tools/mutation/mutants.ts)",
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    restore();
    say(`could not run: ${(error as Error).stack ?? error}`);
    process.exit(2);
  },
);
