import { testEnv } from "./factories";

/** What the local Upstash bridge counted for the requests naming the watched text. */
interface UpstashCounts {
  requests: number;
  commands: number;
  scripts: number;
  scriptsWithoutKeyLocking: number;
  maxCommandsPerRequest: number;
  maxRequestBytes: number;
}

/**
 * Counts the Upstash requests whose body contains `text` (a board id) from now on, through the
 * local bridge's watch endpoint (tools/local-stack/upstash-bridge.ts). Needs REDIS_URL.
 */
export async function watchUpstash(text: string) {
  const base = testEnv.UPSTASH_REDIS_REST_URL;
  if (!base) throw new Error("watchUpstash needs the Upstash bridge: set REDIS_URL");
  const url = `${base}/__bridge/watches/${encodeURIComponent(text)}`;
  const headers = { authorization: `Bearer ${testEnv.UPSTASH_REDIS_REST_TOKEN}` };
  const call = async (method: string) => {
    const res = await fetch(url, { method, headers });
    if (!res.ok) throw new Error(`bridge watch ${method}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  await call("PUT");
  return {
    read: () => call("GET") as Promise<UpstashCounts>,
    stop: async () => {
      await call("DELETE");
    },
  };
}
