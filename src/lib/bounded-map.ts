/**
 * A Map that keeps at most `limit` entries, dropping the least recently set one: the per-isolate
 * memories (watermarks seen, periods known to hold records, Redis writes missed) must stay bounded
 * whatever keys requests bring. Plain data only, like everything in module scope.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.limit) {
      const oldest = this.keys().next();
      if (!oldest.done) super.delete(oldest.value);
    }
    return this;
  }
}
