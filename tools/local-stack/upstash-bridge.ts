import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { Redis as RedisClient } from "ioredis";
import { readBody, sendJson as send } from "./http-json.ts";
import { type Log, silent } from "./log.ts";
import { assertTcpReachable } from "./tcp-probe.ts";
import { encodeReply, toCommand } from "./upstash-reply.ts";

// ioredis is CommonJS and its module.exports is the client class: require() gets it the same way in
// plain Node and under vitest's module loader (the global setup imports this file), where
// `import { Redis } from "ioredis"` comes back undefined.
const Redis = createRequire(import.meta.url)("ioredis") as typeof RedisClient;

export interface UpstashBridgeOptions {
  /** A real Redis, e.g. redis://127.0.0.1:6379. */
  redisUrl: string;
  /** Bearer token clients must send (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** 0 (default) = any free port. */
  port?: number;
  // No key prefix option on purpose: the app prefixes its keys (REDIS_KEY_PREFIX) as in production.
  keyPrefix?: never;
  log?: Log;
}

export interface UpstashBridge {
  /** http://127.0.0.1:PORT: the value for UPSTASH_REDIS_REST_URL. */
  url: string;
  token: string;
  port: number;
  stop(): Promise<void>;
}

type Reply = { result: unknown } | { error: string };

const MAX_BODY_BYTES = 100 * 1024 * 1024;

// These change the state of the one shared connection (or never return on it), so they would
// break every other request; Upstash's REST API does not offer them either.
const REFUSED = new Set([
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
  "MONITOR",
  "SELECT",
  "QUIT",
  "RESET",
  "HELLO",
  "WATCH",
  "UNWATCH",
  "MULTI",
  "EXEC",
  "DISCARD",
]);
// These may wait server-side; they get a connection of their own so they delay nobody else.
const BLOCKING = new Set([
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BLMOVE",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "XREAD",
  "XREADGROUP",
  "WAIT",
]);

/**
 * Local stand-in for Upstash's REST API in front of a real Redis, so the worker runs its production
 * @upstash/redis code unchanged in dev, tests and benchmarks. Implements what @upstash/redis 1.39
 * sends: POST / (one command), /pipeline, /multi-exec, the path form /CMD/arg..., Bearer auth and
 * `Upstash-Encoding: base64` replies. The client auto-pipelines by default, so /pipeline carries
 * most traffic.
 */
export async function startUpstashBridge(opts: UpstashBridgeOptions): Promise<UpstashBridge> {
  const log = opts.log ?? silent;
  const target = redisHostPort(opts.redisUrl);
  await assertTcpReachable({
    ...target,
    what: `Redis at ${target.host}:${target.port}`,
    fix: "start redis-server or unset REDIS_URL (the app then falls back to Postgres for ranks)",
  });

  // protocol 2: plain RESP2 replies, i.e. exactly the shapes Upstash returns (RESP3 would turn
  // HGETALL into maps and scores into doubles). Upper-case command names bypass ioredis' reply
  // transformers, which are registered under lower-case names. No enableAutoPipelining: in ioredis
  // 6.0.0 it drops the command name of callBuffer() calls (only call() is handled); the client
  // already batches through /pipeline, and ioredis writes concurrent commands together anyway.
  const redis = new Redis(opts.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: false,
    protocol: 2,
  });
  let up = false;
  let everUp = false;
  redis.on("ready", () => {
    if (everUp && !up) log(`upstash-bridge: Redis at ${target.host}:${target.port} is back`);
    up = everUp = true;
  });
  redis.on("error", (err: Error) => {
    // ioredis reconnects on its own; say it once per outage, not once per command.
    if (!up) return;
    up = false;
    log(
      `upstash-bridge: lost Redis at ${target.host}:${target.port} (${err.message}), retrying: is redis-server still running?`,
    );
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(
      `Redis at ${target.host}:${target.port} rejected the connection (${(err as Error).message}): check REDIS_URL (password, TLS) or unset it`,
      { cause: err },
    );
  }

  async function runOne(original: string[]): Promise<Reply> {
    const command = withLocalScripts(original);
    const name = (command[0] as string).toUpperCase();
    if (REFUSED.has(name)) return refused(name);
    const conn = BLOCKING.has(name) ? redis.duplicate() : redis;
    try {
      return { result: await conn.callBuffer(name, ...command.slice(1)) };
    } catch (err) {
      return { error: redisErrorText(err) };
    } finally {
      if (conn !== redis) conn.disconnect();
    }
  }

  async function runPipeline(commands: string[][]): Promise<Reply[]> {
    const replies: Reply[] = new Array(commands.length);
    const pipeline = redis.pipeline();
    const sent: number[] = [];
    commands.forEach((original, i) => {
      const command = withLocalScripts(original);
      const name = (command[0] as string).toUpperCase();
      if (REFUSED.has(name) || BLOCKING.has(name)) {
        replies[i] = refused(name);
        return;
      }
      pipeline.callBuffer(name, ...command.slice(1));
      sent.push(i);
    });
    if (sent.length > 0) {
      const results = await pipeline
        .exec()
        .catch((err: unknown) => sent.map(() => [err, null] as const));
      sent.forEach((index, k) => {
        const [err, value] = results?.[k] ?? [new Error("no reply"), null];
        replies[index] = err ? { error: redisErrorText(err) } : { result: value };
      });
    }
    return replies;
  }

  /** undefined replies = the transaction was discarded; the error says why. */
  async function runMultiExec(
    commands: string[][],
  ): Promise<{ replies?: Reply[]; error?: string }> {
    const multi = redis.multi();
    for (const original of commands) {
      const command = withLocalScripts(original);
      const name = (command[0] as string).toUpperCase();
      if (REFUSED.has(name)) return { error: `ERR ${name} is not allowed in /multi-exec` };
      multi.callBuffer(name, ...command.slice(1));
    }
    try {
      const results = await multi.exec();
      if (!results) return { error: "EXECABORT Transaction discarded" };
      return {
        replies: results.map(([err, value]) =>
          err ? { error: redisErrorText(err) } : { result: value },
        ),
      };
    } catch (err) {
      const previous = (err as { previousErrors?: Error[] }).previousErrors ?? [];
      const detail = previous.map((e) => e.message).join("; ");
      return { error: redisErrorText(err) + (detail ? ` (${detail})` : "") };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://bridge");
    if (!authorized(req, url, opts.token)) return send(res, 401, { error: "Unauthorized" });
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const body =
      req.method === "POST"
        ? await readBody(req, MAX_BODY_BYTES, "send smaller batches")
        : Buffer.alloc(0);
    const path = url.pathname.replace(/\/+$/, "");
    if (path.startsWith(WATCH_PATH)) {
      watches.serve(req, res, path);
      return;
    }

    if (path === "" || path === "/pipeline" || path === "/multi-exec") {
      if (req.method !== "POST") {
        return send(res, 405, {
          error: 'ERR use POST with a JSON body, e.g. ["SET","key","value"]',
        });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch (err) {
        return send(res, 400, {
          error: `ERR failed to parse JSON body (${(err as Error).message}): send a JSON array`,
        });
      }
      if (path === "") {
        const command = toCommand(parsed);
        if (command) watches.count(body, [command]);
        if (!command)
          return send(res, 400, {
            error: 'ERR body must be a command array of strings/numbers, e.g. ["GET","key"]',
          });
        return sendReply(res, await runOne(command), base64);
      }
      const commands = Array.isArray(parsed) ? parsed.map(toCommand) : [];
      watches.count(
        body,
        commands.filter((c): c is string[] => c !== null),
      );
      if (commands.length === 0 || commands.some((c) => !c)) {
        return send(res, 400, {
          error:
            'ERR body must be a non-empty array of command arrays, e.g. [["INCR","a"],["GET","a"]]',
        });
      }
      if (path === "/pipeline") {
        const replies = await runPipeline(commands as string[][]);
        return send(
          res,
          200,
          replies.map((r) => encodeEntry(r, base64)),
        );
      }
      const tx = await runMultiExec(commands as string[][]);
      if (!tx.replies) return send(res, 400, { error: tx.error });
      return send(
        res,
        200,
        tx.replies.map((r) => encodeEntry(r, base64)),
      );
    }

    // Path form: /SET/key/value; a POST body becomes the last argument (Upstash's REST convention).
    const command = path.slice(1).split("/").map(decodeURIComponent);
    if (body.length > 0) command.push(body.toString("utf8"));
    watches.count(Buffer.from(JSON.stringify(command)), [command]);
    return sendReply(res, await runOne(command), base64);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error: `ERR local Upstash bridge failed: ${(err as Error).message}` });
      else res.destroy();
    });
  });
  // Longer than the clients' keep-alive, so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      redis.disconnect();
      reject(
        new Error(
          `Upstash bridge could not listen on 127.0.0.1:${opts.port ?? 0} (${err.code ?? err.message}): pick another port or stop what uses it`,
        ),
      );
    });
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    token: opts.token,
    port,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(async () => {
        await redis.quit().catch(() => redis.disconnect());
      });
      return stopped;
    },
  };
}

/**
 * Counting for tests (not part of Upstash's API): `PUT /__bridge/watches/<text>` starts counting
 * the requests whose body contains <text> (a board id, say), `GET` returns the counts, `DELETE`
 * stops. Tests use it to hold the number of Upstash round trips and commands per request type,
 * the largest pipeline, and scripts sent without `allow-key-locking` (which would take Upstash's
 * database-wide lock).
 */
const WATCH_PATH = "/__bridge/watches/";

interface WatchCounts {
  requests: number;
  commands: number;
  scripts: number;
  scriptsWithoutKeyLocking: number;
  maxCommandsPerRequest: number;
  maxRequestBytes: number;
}

const watches = {
  counts: new Map<string, WatchCounts>(),
  /** SHA-1s of script texts that came without `allow-key-locking`. */
  unflagged: new Set<string>(),

  count(body: Buffer, commands: string[][]): void {
    for (const command of commands) {
      const name = String(command[0]).toUpperCase();
      if ((name === "EVAL" || name === "EVAL_RO") && !keyLocking(String(command[1]))) {
        watches.unflagged.add(sha1(String(command[1])));
      }
    }
    if (watches.counts.size === 0) return;
    const text = body.toString("utf8");
    for (const [needle, counts] of watches.counts) {
      if (!text.includes(needle)) continue;
      counts.requests += 1;
      counts.commands += commands.length;
      counts.maxCommandsPerRequest = Math.max(counts.maxCommandsPerRequest, commands.length);
      counts.maxRequestBytes = Math.max(counts.maxRequestBytes, body.length);
      for (const command of commands) {
        const name = String(command[0]).toUpperCase();
        if (!name.startsWith("EVAL")) continue;
        counts.scripts += 1;
        const unflagged = name.startsWith("EVALSHA")
          ? watches.unflagged.has(String(command[1]).toLowerCase())
          : !keyLocking(String(command[1]));
        if (unflagged) counts.scriptsWithoutKeyLocking += 1;
      }
    }
  },

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    const needle = decodeURIComponent(path.slice(WATCH_PATH.length));
    if (needle === "") {
      send(res, 400, { error: "name the text to watch in the path" });
      return;
    }
    if (req.method === "PUT") {
      watches.counts.set(needle, {
        requests: 0,
        commands: 0,
        scripts: 0,
        scriptsWithoutKeyLocking: 0,
        maxCommandsPerRequest: 0,
        maxRequestBytes: 0,
      });
      send(res, 200, { result: "OK" });
      return;
    }
    if (req.method === "DELETE") {
      watches.counts.delete(needle);
      send(res, 200, { result: "OK" });
      return;
    }
    const counts = watches.counts.get(needle);
    if (counts) send(res, 200, counts);
    else send(res, 404, { error: "no such watch: PUT it first" });
  },
};

const keyLocking = (script: string) => /^#!lua flags=[^\n]*\ballow-key-locking\b/.test(script);

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization;
  if (header) return header === `Bearer ${token}`;
  return url.searchParams.get("_token") === token;
}

function refused(name: string): Reply {
  return { error: `ERR ${name} is not supported by the local Upstash bridge` };
}

function redisErrorText(err: unknown): string {
  // Error replies from Redis (ioredis names them ReplyError); anything else is a connection
  // problem.
  if ((err as Error)?.name === "ReplyError") return (err as Error).message;
  return `ERR local Upstash bridge cannot reach Redis (${(err as Error)?.message ?? String(err)}): is redis-server running?`;
}

function encodeEntry(reply: Reply, base64: boolean): Reply {
  return "error" in reply ? reply : { result: encodeReply(reply.result, base64) };
}

function sendReply(res: ServerResponse, reply: Reply, base64: boolean): void {
  if ("error" in reply) send(res, 400, reply);
  else send(res, 200, { result: encodeReply(reply.result, base64) });
}

/** Host and port from redis://[user:pass@]host[:port][/db]. */
export function redisHostPort(redisUrl: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    throw new Error(
      `REDIS_URL is not a valid URL: expected redis://host:port (e.g. redis://127.0.0.1:6379)`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(
      `REDIS_URL must start with redis:// or rediss:// (got ${url.protocol}//…): fix the URL`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  return { host, port: url.port ? Number(url.port) : 6379 };
}

/**
 * Upstash accepts a script flag Redis does not know, `#!lua flags=allow-key-locking` (lock only
 * the keys a script declares; @upstash/ratelimit's scripts carry it): the bridge drops that flag
 * before Redis sees the script, and answers EVALSHA of the flagged script's SHA with the SHA Redis
 * gave the script without it, so clients that compute SHAs themselves keep working.
 */
const scriptAliases = new Map<string, string>();
const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

function withLocalScripts(command: string[]): string[] {
  const name = String(command[0]).toUpperCase();
  const scriptAt =
    name === "EVAL" || name === "EVAL_RO"
      ? 1
      : name === "SCRIPT" && String(command[1]).toUpperCase() === "LOAD"
        ? 2
        : -1;
  if (scriptAt > 0) {
    const script = String(command[scriptAt]);
    const local = script.replace(/^#!lua flags=([^\n]*)/, (_, flags: string) => {
      const kept = flags
        .split(",")
        .filter((f) => f.trim() !== "" && !UPSTASH_ONLY_FLAGS.has(f.trim()));
      return kept.length > 0 ? `#!lua flags=${kept.join(",")}` : "#!lua";
    });
    if (local === script) return command;
    scriptAliases.set(sha1(script), sha1(local));
    return command.map((part, i) => (i === scriptAt ? local : part));
  }
  if (name === "EVALSHA" || name === "EVALSHA_RO") {
    const alias = scriptAliases.get(String(command[1]).toLowerCase());
    if (alias) return command.map((part, i) => (i === 1 ? alias : part));
  }
  return command;
}
