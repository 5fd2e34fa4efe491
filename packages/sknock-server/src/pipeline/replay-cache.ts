import { createHash } from 'node:crypto';
import type { KnockKeys } from '@sknock/protocol';
import {
  REPLAY_MARGIN_SECONDS,
  REPLAY_SEEN_DATAGRAMS_PER_KEY,
  REPLAY_SEEN_MAX_KEYS,
  REPLAY_VERIFIED_MAX_KEYS,
  REPLAY_VERIFIED_PER_CERTIFICATE_MAX,
} from '../constants.js';
import { ExpiringMap, type Expiring } from './expiring-map.js';
import type { CertificateVerifier, Reject } from './types.js';

/**
 * What the daemon remembers of ephemeral public keys, in two tiers, each bounded:
 *
 * - `verified`: the keys of knocks that were **accepted** (authenticated, inside the time
 *   window, granted, from their bound address). Only these make later datagrams replays
 *   (`replayed-key`), for the whole window. Junk cannot flush this tier (only holders of a
 *   trusted certificate add to it, and each certificate only up to its quota); when it is
 *   full, or a certificate is over its quota, a new knock is refused rather than a replay
 *   let through: an accepted knock always has its key recorded here.
 * - `seen`: every point that reached the ECDH, verified or not, with its AES key and IV (so
 *   a datagram repeating a point costs one AES decryption, not an ECDH) and what became of
 *   the last few datagrams with it (so an exact duplicate is dropped before any
 *   cryptography). Anyone can fill this tier, so it never refuses a datagram that could
 *   still be accepted: it remembers only outcomes fixed by the bytes (a datagram that does
 *   not decrypt, frame, verify or is not granted fails the same way every time) and, for an
 *   authentic knock, the address and timestamp it binds, which are checked again against
 *   each copy's source and the clock. When full, the point used longest ago is forgotten;
 *   a datagram with it then costs an ECDH again.
 *
 * The accepted tier identifies a key by its X coordinate: `Z`, the ECDH secret, is the X
 * coordinate of the product, the same for P and −P, so a point's mirror is the same key
 * (and decrypts the same ciphertext). The seen tier keys by the whole point, so that a point
 * off the curve never borrows the keys of the valid point with its X.
 *
 * A key is kept 2 × threshold + margin seconds (src/constants.ts REPLAY_MARGIN_SECONDS).
 */

export interface ReplayCacheOptions {
  readonly maxSeen?: number;
  readonly maxVerified?: number;
  /** Accepted keys one certificate may hold inside the window. */
  readonly maxVerifiedPerCertificate?: number;
}

/** What became of one datagram, fixed by its bytes (and the IP family it was read under). */
export type RememberedVerdict =
  | {
      readonly kind: 'reject';
      readonly family: 4 | 6;
      readonly reject: Reject;
      /** Set when the outcome holds only under this trust store (`untrusted-certificate`). */
      readonly trust?: CertificateVerifier;
    }
  | {
      /** Decrypted, a trusted certificate, a good signature: what it binds is checked per copy. */
      readonly kind: 'authentic';
      readonly family: 4 | 6;
      readonly address: string;
      readonly timestamp: number;
    };

interface RememberedDatagram {
  /** SHA-256 of the whole datagram. */
  readonly digest: string;
  verdict: RememberedVerdict;
}

/** One point of the seen tier (kept small: there may be REPLAY_SEEN_MAX_KEYS of them). */
export interface SeenPoint extends Expiring {
  /** Its AES key and IV as one 32-character latin1 string (`seenKeys`); `null`: not a point on the curve. */
  readonly keys: string | null;
  /** What became of the last few datagrams with it, oldest first (none yet: undefined). */
  datagrams: RememberedDatagram[] | undefined;
}

/** A point's remembered keys as `openKnockPacket` takes them. */
export function seenKeys(keys: string): KnockKeys {
  const bytes = Buffer.from(keys, 'latin1');
  return { key: bytes.subarray(0, AES_KEY_LENGTH), iv: bytes.subarray(AES_KEY_LENGTH) };
}

function packKeys(keys: KnockKeys): string {
  return Buffer.concat([keys.key, keys.iv]).toString('latin1');
}

interface AcceptedKey extends Expiring {
  /** Id of the certificate whose knock it was. */
  readonly owner: string;
}

/** Why `markVerified` did not record a key. */
export type MarkResult = 'recorded' | 'replayed' | 'full' | 'over-quota';

const DIGEST_LENGTH = 16;
const AES_KEY_LENGTH = 16;
const X_OFFSET = 1; // after the 0x04 prefix (SEC 1 §2.3.3)
const X_LENGTH = 32;

/** The accepted tier's key of a 65-byte SEC 1 point: its X coordinate as a 32-character string. */
export function ephemeralKeyId(point: Uint8Array): string {
  return Buffer.from(point.buffer, point.byteOffset + X_OFFSET, Math.min(X_LENGTH, Math.max(0, point.length - X_OFFSET))).toString('latin1');
}

/** The seen tier's key: the whole point as a string. */
export function ephemeralPointId(point: Uint8Array): string {
  return Buffer.from(point.buffer, point.byteOffset, point.length).toString('latin1');
}

/**
 * What identifies one exact datagram among those with a point: SHA-256 of all its bytes,
 * the first 128 bits as latin1. An attacker would need a second preimage of a datagram it
 * did not make to have its junk taken for it.
 */
export function datagramDigest(datagram: Uint8Array): string {
  return createHash('sha256').update(datagram).digest().toString('latin1', 0, DIGEST_LENGTH);
}

export class ReplayCache {
  readonly #seen: ExpiringMap<string, SeenPoint>;
  readonly #verified: ExpiringMap<string, AcceptedKey>;
  /** Accepted keys held per certificate. */
  readonly #perOwner = new Map<string, number>();
  readonly maxVerifiedPerCertificate: number;

  constructor(options: ReplayCacheOptions = {}) {
    this.#seen = new ExpiringMap(options.maxSeen ?? REPLAY_SEEN_MAX_KEYS);
    this.#verified = new ExpiringMap(options.maxVerified ?? REPLAY_VERIFIED_MAX_KEYS, (_key, { owner }) => {
      const n = (this.#perOwner.get(owner) ?? 1) - 1;
      if (n > 0) this.#perOwner.set(owner, n);
      else this.#perOwner.delete(owner);
    });
    this.maxVerifiedPerCertificate = options.maxVerifiedPerCertificate ?? REPLAY_VERIFIED_PER_CERTIFICATE_MAX;
  }

  /** How long a key is kept for a given timestamp threshold. */
  static lifetimeMs(thresholdSeconds: number): number {
    return (2 * thresholdSeconds + REPLAY_MARGIN_SECONDS) * 1000;
  }

  // ---- the accepted tier ----

  /** True when `keyId` (X) belongs to a knock accepted inside its lifetime. */
  isAccepted(keyId: string, nowMs: number): boolean {
    return this.#verified.get(keyId, nowMs) !== undefined;
  }

  /**
   * Records the key of a knock about to be accepted, for `owner` (its certificate). Not
   * recorded, and so not to be accepted: `replayed` (already there), `full`, `over-quota`.
   */
  markVerified(keyId: string, owner: string, nowMs: number, lifetimeMs: number): MarkResult {
    if (this.isAccepted(keyId, nowMs)) return 'replayed';
    if ((this.#perOwner.get(owner) ?? 0) >= this.maxVerifiedPerCertificate || this.#verified.size >= this.#verified.max) {
      this.#verified.sweep(nowMs); // exact counts before refusing
      if ((this.#perOwner.get(owner) ?? 0) >= this.maxVerifiedPerCertificate) return 'over-quota';
    }
    if (!this.#verified.set(keyId, { expiresAt: nowMs + lifetimeMs, owner }, nowMs, false)) return 'full';
    this.#perOwner.set(owner, (this.#perOwner.get(owner) ?? 0) + 1);
    return 'recorded';
  }

  /** Forgets a key `markVerified` recorded for a knock that was then not accepted after all. */
  unmarkVerified(keyId: string): void {
    this.#verified.delete(keyId);
  }

  /** Accepted keys `owner` holds now. */
  verifiedCount(owner: string): number {
    return this.#perOwner.get(owner) ?? 0;
  }

  // ---- the seen tier ----

  /** The seen point `pointId`, marked as used now (so a point in use is forgotten last). */
  seenPoint(pointId: string, nowMs: number, lifetimeMs: number): SeenPoint | undefined {
    const point = this.#seen.get(pointId, nowMs);
    if (point !== undefined) this.#seen.touch(pointId, point, nowMs + lifetimeMs);
    return point;
  }

  /** Remembers the keys of a point that just cost an ECDH (`null`: it is not on the curve). */
  rememberKeys(pointId: string, keys: KnockKeys | null, nowMs: number, lifetimeMs: number): void {
    this.#seen.set(pointId, { expiresAt: nowMs + lifetimeMs, keys: keys === null ? null : packKeys(keys), datagrams: undefined }, nowMs, true);
  }

  /** The verdict remembered for the datagram `digest` with point `point`. */
  static verdictOf(point: SeenPoint, digest: string): RememberedVerdict | undefined {
    for (const d of point.datagrams ?? []) if (d.digest === digest) return d.verdict;
    return undefined;
  }

  /** Remembers what became of a datagram with a seen point (the last few per point). */
  rememberVerdict(pointId: string, digest: string, verdict: RememberedVerdict, nowMs: number): void {
    const point = this.#seen.get(pointId, nowMs);
    if (point === undefined) return;
    const datagrams = point.datagrams;
    if (datagrams === undefined) {
      point.datagrams = [{ digest, verdict }]; // an array of exactly one: most points see one datagram
      return;
    }
    const known = datagrams.find((d) => d.digest === digest);
    if (known !== undefined) {
      known.verdict = verdict;
      return;
    }
    if (datagrams.length >= REPLAY_SEEN_DATAGRAMS_PER_KEY) datagrams.shift();
    datagrams.push({ digest, verdict });
  }

  /** Forgets every seen point (their keys belong to a server key that was replaced). */
  forgetSeen(): void {
    this.#seen.clear();
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
    this.#perOwner.clear();
  }
}
