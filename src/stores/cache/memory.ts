import { BoundedMap } from "../../lib/bounded-map";

/**
 * The isolate memory tier: module scope is the only place that outlives a request, so every
 * cache's first tier lives here. Bounded (the least recently set entry goes first) whatever keys
 * requests bring, and it holds plain data only: an I/O object or a promise belongs to the request
 * that made it.
 */
export class MemoryTier<V> {
  private readonly entries: BoundedMap<string, V>;

  constructor(readonly limit: number) {
    this.entries = new BoundedMap(limit);
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A memory tier whose entries each carry their own end of life (a verified token until its
 * expiry): nothing to revalidate, so no load and no single flight.
 */
export class ExpiringMemory<V> {
  private readonly tier: MemoryTier<{ value: V; until: number }>;

  constructor(limit: number) {
    this.tier = new MemoryTier(limit);
  }

  /** The value while `now` is before its end of life. */
  get(key: string, now: number): V | undefined {
    const entry = this.tier.get(key);
    return entry && entry.until > now ? entry.value : undefined;
  }

  set(key: string, value: V, until: number): void {
    this.tier.set(key, { value, until });
  }

  clear(): void {
    this.tier.clear();
  }
}
