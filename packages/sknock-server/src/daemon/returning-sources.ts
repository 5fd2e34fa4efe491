import { RETURNING_SOURCE_TTL_MS, RETURNING_SOURCES_MAX } from '../constants.js';

/**
 * Source addresses that sent an accepted knock recently: their next knocks take the work
 * queue's priority lane, so returning clients get through while fresh junk floods the
 * normal lane. Bounded: the address accepted longest ago is forgotten first.
 */
export class ReturningSources {
  readonly #seen = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs = RETURNING_SOURCE_TTL_MS, max = RETURNING_SOURCES_MAX) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  add(address: string, nowMs: number): void {
    this.#seen.delete(address);
    this.#seen.set(address, nowMs);
    if (this.#seen.size > this.#max) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  has(address: string, nowMs: number): boolean {
    const at = this.#seen.get(address);
    return at !== undefined && nowMs - at < this.#ttlMs;
  }

  get size(): number {
    return this.#seen.size;
  }
}
