import { REPLAY_MARGIN_SECONDS, REPLAY_SEEN_MAX_KEYS, REPLAY_VERIFIED_MAX_KEYS } from '../constants.js';

/**
 * The ephemeral public keys seen inside the time window. Honest clients never reuse one,
 * so a key seen before means a replayed packet, or junk re-using one point: it is dropped
 * before the ECDH and costs no public-key work.
 *
 * Keys are identified by the point's X coordinate: `Z`, the ECDH secret, is the X
 * coordinate of the product, the same for P and −P, so a point's mirror is the same key.
 *
 * Two tiers, each bounded:
 * - `seen`: every key that reached the ECDH, verified or not. When full, the oldest is
 *   forgotten — a flood of junk can flush it, which only costs that junk an ECDH again.
 * - `verified`: keys whose packet carried a valid signature. Only holders of a trusted
 *   certificate add here, so junk cannot flush it; a replay of a real knock is caught for
 *   the whole window. When full, `markVerified` refuses (the caller rejects `overloaded`).
 *
 * A key is kept 2 × threshold + margin seconds (src/constants.ts REPLAY_MARGIN_SECONDS).
 */

export interface ReplayCacheOptions {
  readonly maxSeen?: number;
  readonly maxVerified?: number;
}

const X_OFFSET = 1; // after the 0x04 prefix (SEC 1 §2.3.3)
const X_LENGTH = 32;

/** The cache key of a 65-byte SEC 1 point: its X coordinate as a 32-character string. */
export function ephemeralKeyId(point: Uint8Array): string {
  return Buffer.from(point.buffer, point.byteOffset + X_OFFSET, Math.min(X_LENGTH, Math.max(0, point.length - X_OFFSET))).toString('latin1');
}

class ExpiringSet {
  /** key → expiry (ms). Insertion order is (nearly) expiry order. */
  readonly #map = new Map<string, number>();
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  has(key: string, nowMs: number): boolean {
    const expiry = this.#map.get(key);
    return expiry !== undefined && expiry > nowMs;
  }

  /** Adds `key`; when full, forgets the oldest if `evict`, else returns false. */
  add(key: string, expiresAt: number, nowMs: number, evict: boolean): boolean {
    this.sweep(nowMs);
    if (this.#map.size >= this.max && !this.#map.has(key)) {
      if (!evict) return false;
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
    this.#map.delete(key);
    this.#map.set(key, expiresAt);
    return true;
  }

  /** Forgets expired keys from the oldest end (a few per call: amortised O(1)). */
  sweep(nowMs: number, limit = 32): void {
    let n = 0;
    for (const [key, expiry] of this.#map) {
      if (expiry > nowMs || n++ >= limit) break;
      this.#map.delete(key);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}

export class ReplayCache {
  readonly #seen: ExpiringSet;
  readonly #verified: ExpiringSet;

  constructor(options: ReplayCacheOptions = {}) {
    this.#seen = new ExpiringSet(options.maxSeen ?? REPLAY_SEEN_MAX_KEYS);
    this.#verified = new ExpiringSet(options.maxVerified ?? REPLAY_VERIFIED_MAX_KEYS);
  }

  /** How long a key is kept for a given timestamp threshold. */
  static lifetimeMs(thresholdSeconds: number): number {
    return (2 * thresholdSeconds + REPLAY_MARGIN_SECONDS) * 1000;
  }

  /** True when `id` was seen inside its lifetime. */
  has(id: string, nowMs: number): boolean {
    return this.#verified.has(id, nowMs) || this.#seen.has(id, nowMs);
  }

  /** Records a key about to cost an ECDH. */
  remember(id: string, nowMs: number, lifetimeMs: number): void {
    this.#seen.add(id, nowMs + lifetimeMs, nowMs, true);
  }

  /** Records the key of a packet whose signature verified; false when that tier is full. */
  markVerified(id: string, nowMs: number, lifetimeMs: number): boolean {
    return this.#verified.add(id, nowMs + lifetimeMs, nowMs, false);
  }

  get seenSize(): number {
    return this.#seen.size;
  }

  get verifiedSize(): number {
    return this.#verified.size;
  }

  clear(): void {
    this.#seen.clear();
    this.#verified.clear();
  }
}
