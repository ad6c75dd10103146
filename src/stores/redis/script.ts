import type { Redis } from "@upstash/redis/cloudflare";
import type { LuaScript } from "./lua";

/**
 * The text sent for a script: its source under a shebang declaring its flags. Upstash runs a script
 * under a database-wide lock (no other command meanwhile, read-only scripts included) unless it
 * declares `allow-key-locking`, which locks only the KEYS it is given; every script of ours touches
 * only its KEYS. `no-writes` marks the read scripts (EVALSHA_RO), which Redis then also runs when
 * memory is full. Redis itself does not know `allow-key-locking`; the local bridge drops it.
 */
export function scriptText(script: LuaScript): string {
  const flags = script.readonly ? "allow-key-locking,no-writes" : "allow-key-locking";
  return `#!lua flags=${flags}\n${script.source}`;
}

/**
 * Script SHAs by text, computed once per isolate. Plain strings, not promises: a promise made in
 * one request must not be awaited by another (in Workers it belongs to the request that made it).
 * Two requests may both compute a SHA the first time; it is one digest of a few hundred bytes.
 */
const shas = new Map<string, string>();

/** SHA-1 of a script's text (what EVALSHA names it by). */
async function scriptSha(script: LuaScript): Promise<string> {
  const text = scriptText(script);
  const known = shas.get(text);
  if (known !== undefined) return known;
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  const sha = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  shas.set(text, sha);
  return sha;
}

/** True for Redis' "script not in cache" error (after a restart, failover or SCRIPT FLUSH). */
export function isNoScript(error: unknown): boolean {
  const text = error instanceof Error ? error.message : typeof error === "string" ? error : "";
  return text.toLowerCase().includes("noscript");
}

/**
 * Runs a script by SHA and falls back to sending the source (EVAL loads it into the cache) when
 * Redis does not know it. Read-only scripts use the _RO variants so replicas may serve them.
 */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: string[],
  args: string[],
): Promise<unknown> {
  const sha = await scriptSha(script);
  try {
    return script.readonly
      ? await redis.evalshaRo(sha, keys, args)
      : await redis.evalsha(sha, keys, args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return script.readonly
      ? await redis.evalRo(scriptText(script), keys, args)
      : await redis.eval(scriptText(script), keys, args);
  }
}

/** One script invocation of a pipelined batch. */
export interface ScriptCall {
  readonly keys: string[];
  readonly args: string[];
}

/**
 * Upstash's per-request limits (docs/capacity.md): a request body of 1 MB on the free and
 * pay-as-you-go plans, and ~10,000 commands/s per database. A pipeline is held to half the body
 * limit and 100 commands, so a backlog batch never becomes one multi-megabyte request.
 */
export const PIPELINE_MAX_COMMANDS = 100;
export const PIPELINE_MAX_BYTES = 512 * 1024;

/** A call's size on the wire, about: its keys and arguments, quoted, plus the SHA. */
const callBytes = (call: ScriptCall) =>
  60 + [...call.keys, ...call.args].reduce((sum, part) => sum + part.length + 3, 0);

/**
 * Runs the calls in as many pipelines as the caps above need, one after another (sequential, so a
 * backlog does not open many requests at once). Each call must fit a pipeline on its own.
 */
export async function pipelineScriptCapped(
  redis: Redis,
  script: LuaScript,
  calls: readonly ScriptCall[],
): Promise<unknown[]> {
  const results: unknown[] = [];
  let batch: ScriptCall[] = [];
  let bytes = 0;
  for (const call of calls) {
    const size = callBytes(call);
    if (size > PIPELINE_MAX_BYTES) {
      throw new RangeError(`redis ${script.name}: one call of ${size} B exceeds a pipeline's cap`);
    }
    if (batch.length === PIPELINE_MAX_COMMANDS || bytes + size > PIPELINE_MAX_BYTES) {
      results.push(...(await pipelineScript(redis, script, batch)));
      batch = [];
      bytes = 0;
    }
    batch.push(call);
    bytes += size;
  }
  results.push(...(await pipelineScript(redis, script, batch)));
  return results;
}

/**
 * Runs many invocations of one write script in ONE pipeline of EVALSHAs; the calls Redis answers
 * with NOSCRIPT are re-sent as EVALs in a second pipeline. Only valid for scripts that are safe to
 * run again (the apply script is version-guarded), since a pipeline is not a transaction. Returns
 * each call's reply in order; throws on any other error.
 */
async function pipelineScript(
  redis: Redis,
  script: LuaScript,
  calls: readonly ScriptCall[],
): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const sha = await scriptSha(script);
  const first = redis.pipeline();
  for (const call of calls) first.evalsha(sha, call.keys, call.args);
  const replies = await first.exec({ keepErrors: true });
  const results: unknown[] = new Array(calls.length);
  const missing: number[] = [];
  replies.forEach((reply, i) => {
    if (!reply.error) results[i] = reply.result;
    else if (isNoScript(reply.error)) missing.push(i);
    else throw new Error(`redis ${script.name} script failed: ${reply.error}`);
  });
  if (missing.length > 0) {
    const second = redis.pipeline();
    for (const i of missing) {
      const call = calls[i];
      if (call) second.eval(scriptText(script), call.keys, call.args);
    }
    const retried = await second.exec({ keepErrors: true });
    missing.forEach((index, k) => {
      const reply = retried[k];
      if (!reply || reply.error)
        throw new Error(`redis ${script.name} script failed: ${reply?.error ?? "no reply"}`);
      results[index] = reply.result;
    });
  }
  return results;
}
