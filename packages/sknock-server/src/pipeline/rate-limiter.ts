import { RATE_LIMIT_BURST, RATE_LIMIT_MAX_SOURCES, RATE_LIMIT_PER_SECOND } from '../constants.js';

/**
 * A token bucket per source address, in a bounded map. A source starts with `burst` tokens,
 * spends one per knock-shaped datagram and gets `perSecond` back each second. Beyond
 * `maxSources` the source tracked longest is forgotten: that only gives it a full bucket
 * again, so memory stays bounded whatever the number of sources.
 */

export interface RateLimiterOptions {
  readonly burst?: number;
  readonly perSecond?: number;
  readonly maxSources?: number;
}

interface Bucket {
  tokens: number;
  last: number;
}

export class SourceRateLimiter {
  readonly burst: number;
  readonly perSecond: number;
  readonly maxSources: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions = {}) {
    this.burst = options.burst ?? RATE_LIMIT_BURST;
    this.perSecond = options.perSecond ?? RATE_LIMIT_PER_SECOND;
    this.maxSources = options.maxSources ?? RATE_LIMIT_MAX_SOURCES;
  }

  /** Takes one token for `address`; false when it has none left. */
  take(address: string, nowMs: number): boolean {
    let bucket = this.#buckets.get(address);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxSources) this.#evict(nowMs);
      bucket = { tokens: this.burst, last: nowMs };
      this.#buckets.set(address, bucket);
    } else if (nowMs > bucket.last) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.last) / 1000) * this.perSecond);
      bucket.last = nowMs;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }

  clear(): void {
    this.#buckets.clear();
  }

  /** Drops buckets that have filled up again (as good as absent), else the oldest one. */
  #evict(nowMs: number): void {
    const refillMs = (this.burst / this.perSecond) * 1000;
    let scanned = 0;
    for (const [address, bucket] of this.#buckets) {
      if (nowMs - bucket.last >= refillMs) this.#buckets.delete(address);
      if (++scanned >= 64) break;
    }
    if (this.#buckets.size >= this.maxSources) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
  }
}
