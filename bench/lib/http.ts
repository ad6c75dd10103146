import { Agent, request } from "node:http";

/**
 * A keep-alive GET through node:http, the load generator's client: on this 2-core machine it costs
 * less CPU per request than fetch (undici), which shares the cores with the server being measured
 * (a hello-world workerd at 1,600 req/s: p99 6 ms through node:http, 14 ms through fetch).
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * What a load-generating request keeps of an answer: status, headers and how many body bytes came.
 */
export interface HttpHead {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
}

export interface HttpReply extends HttpHead {
  body: string;
}

/** One GET, its body read whole; the chunks are kept only when `keep` says so. */
function get(
  url: string,
  headers: Record<string, string>,
  keep: boolean,
): Promise<HttpHead & { chunks: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (keep) chunks.push(chunk);
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, chunks }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

export async function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const { chunks, ...head } = await get(url, headers, true);
  return { ...head, body: Buffer.concat(chunks).toString("utf8") };
}

/**
 * A keep-alive GET that reads the whole body but keeps only its length, as load generators such as
 * wrk do. Decoding every 9 KB page into a string (and concatenating its chunks) is the client's
 * own work on the cores it shares with the server; at 1,600 req/s its garbage collections showed
 * up as server latency (a node:http server sending the same page measured p99 5.5-7.6 ms through
 * httpGet, 4.0-5.3 ms this way).
 */
export async function httpGetDiscard(
  url: string,
  headers: Record<string, string> = {},
): Promise<HttpHead> {
  const { chunks: _unused, ...head } = await get(url, headers, false);
  return head;
}

/**
 * A keep-alive POST of a JSON body through the same agent: the one-score-per-request write case
 * sends from many connections at once, where fetch's own CPU would crowd the server's cores.
 */
export function httpPostJson(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method: "POST",
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            bytes: chunks.reduce((a, c) => a + c.length, 0),
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
