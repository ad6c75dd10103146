/**
 * The PoP tier: the Workers Cache API, shared by every isolate of a PoP. The Cache API keeps an
 * entry for its max-age but knows nothing of freshness, so each copy carries the time its origin
 * produced it in a header, and the namespaces judge age themselves. Every cache error reads as a
 * miss or a dropped write: a cache problem must never fail a request.
 */
export interface EdgeCopy {
  body: string;
  /** When the origin produced it (epoch ms); 0 for a copy stored without the header. */
  producedAt: number;
  headers: Headers;
}

export interface EdgeWrite {
  producedAt: number;
  /** How long the Cache API keeps it: fresh, stale and stale-if-error together. */
  keepSeconds: number;
  headers?: Record<string, string>;
}

export class EdgeTier {
  /** `name` names the Cache API cache; `producedAtHeader` the header carrying the time. */
  constructor(
    readonly name: string,
    readonly producedAtHeader: string,
  ) {}

  async read(url: string): Promise<EdgeCopy | undefined> {
    try {
      const cache = await caches.open(this.name);
      const hit = await cache.match(new Request(url, { method: "GET" }));
      if (!hit) return undefined;
      const stamp = Number(hit.headers.get(this.producedAtHeader) ?? 0);
      const producedAt = Number.isFinite(stamp) ? stamp : 0;
      return { body: await hit.text(), producedAt, headers: hit.headers };
    } catch {
      return undefined;
    }
  }

  async write(url: string, body: string, write: EdgeWrite): Promise<void> {
    const headers = {
      ...write.headers,
      "cache-control": `public, max-age=${write.keepSeconds}`,
      [this.producedAtHeader]: String(write.producedAt),
    };
    try {
      const cache = await caches.open(this.name);
      await cache.put(new Request(url, { method: "GET" }), new Response(body, { headers }));
    } catch {
      // The next reader loads from the origin instead.
    }
  }

  async delete(url: string): Promise<void> {
    try {
      const cache = await caches.open(this.name);
      await cache.delete(new Request(url, { method: "GET" }));
    } catch {
      // The copy ages out on its own.
    }
  }
}
