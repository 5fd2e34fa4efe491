/**
 * A bounded map whose entries expire, for the two tiers of the replay cache. Entries carry
 * their own expiry; insertion order is (nearly) expiry order, so expired entries are swept
 * from the oldest end in amortised O(1). `touch` moves an entry to the young end with a new
 * expiry, which keeps that order (lifetimes only change on a reload).
 */

/** Expired entries forgotten by each `set`: a few at a time, so no call stalls after a lull. */
const SWEEP_PER_SET = 32;

export interface Expiring {
  /** ms since the epoch. */
  expiresAt: number;
}

export class ExpiringMap<K, V extends Expiring> {
  readonly #map = new Map<K, V>();
  readonly max: number;
  /** Called for every entry that leaves by expiry, eviction or `delete` (not `clear`). */
  readonly #onDrop: ((key: K, value: V) => void) | undefined;

  constructor(max: number, onDrop?: (key: K, value: V) => void) {
    this.max = max;
    this.#onDrop = onDrop;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The live entry of `key`, if any. */
  get(key: K, nowMs: number): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    if (value.expiresAt > nowMs) return value;
    this.delete(key);
    return undefined;
  }

  /** True when `key` is there; when full, forgets the oldest entry if `evict`, else returns false. */
  set(key: K, value: V, nowMs: number, evict: boolean): boolean {
    this.sweep(nowMs, SWEEP_PER_SET);
    if (this.#map.size >= this.max && !this.#map.has(key)) {
      if (!evict) return false;
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.delete(oldest.value);
    }
    this.#map.delete(key);
    this.#map.set(key, value);
    return true;
  }

  /** Moves a present entry to the young end, to expire at `expiresAt`. */
  touch(key: K, value: V, expiresAt: number): void {
    value.expiresAt = expiresAt;
    this.#map.delete(key);
    this.#map.set(key, value);
  }

  delete(key: K): boolean {
    const value = this.#map.get(key);
    if (value === undefined) return false;
    this.#map.delete(key);
    this.#onDrop?.(key, value);
    return true;
  }

  /** Forgets expired entries from the oldest end, up to the first live one (at most `limit`). */
  sweep(nowMs: number, limit = Number.POSITIVE_INFINITY): void {
    let n = 0;
    for (const [key, value] of this.#map) {
      if (value.expiresAt > nowMs || n++ >= limit) break;
      this.#map.delete(key);
      this.#onDrop?.(key, value);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}
