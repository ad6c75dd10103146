// The machine's own floor for latency: a node:http hello-world in a process of its own, answering
// what GET /health answers, measured by the same client at the same offered rates as the worker.
// On a shared 2-core VM the p99 of even this server is milliseconds (scheduler and hypervisor
// stalls); a worker's p99 can only be read against it. GET /page answers the bytes last PUT there
// (a top-100 page is ~9 KB: moving and reading those bytes costs both sides more than a 40-byte
// hello), the floor for a page read at the same rate, as the runtime's hello-world worker does.
//
//   node bench/lib/floor-server.ts PORT     (started by startFloorServer)
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { getPort } from "./ports.ts";

const BODY = JSON.stringify({ status: "ok", environment: "development" });
const READY = "[floor] ready";

export interface FloorServer {
  base: string;
  stop(): Promise<void>;
}

export async function startFloorServer(): Promise<FloorServer> {
  const port = await getPort();
  const child: ChildProcess = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), String(port)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await new Promise<void>((resolveReady, reject) => {
    if (child.stdout)
      createInterface({ input: child.stdout }).on(
        "line",
        (line) => line === READY && resolveReady(),
      );
    child.once("exit", (code) =>
      reject(
        new Error(`the floor server exited (code ${code}) before it listened on 127.0.0.1:${port}`),
      ),
    );
  });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let page = Buffer.alloc(0);
  const server = createServer((req, res) => {
    if (req.url === "/page" && req.method === "PUT") {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        page = Buffer.concat(chunks);
        res.writeHead(204).end();
      });
      return;
    }
    const body = req.url === "/page" ? page : BODY;
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.argv[2]), "127.0.0.1", () => console.log(READY));
  process.on("SIGTERM", () => process.exit(0));
}
