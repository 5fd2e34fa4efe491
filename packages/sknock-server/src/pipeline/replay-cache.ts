import { createHash } from 'node:crypto';
import type { KnockKeys } from '@sknock/protocol';
import { isMirrorY, P256_COORDINATE_LENGTH } from '@sknock/protocol/p256';
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
 * What the daemon remembers of ephemeral public keys, in two tiers, each bounded. Both
 * identify a key by its X coordinate: `Z`, the ECDH secret, is the X coordinate of the
 * product, the same for P and −P, so a point's mirror is the same key (the same AES key and
 * IV: it decrypts the same ciphertext).
 *
 * - `verified`: the keys of knocks that were **accepted** (authenticated, inside the time
 *   window, granted, from their bound address). These make every later datagram with the
 *   key a replay (`replayed-key`), for the whole window. Junk cannot flush this tier (only
 *   holders of a trusted certificate add to it, each certificate only up to its quota); when
 *   it is full, or a certificate is over its quota, a new knock is refused rather than a
 *   replay let through: an accepted knock always has its key recorded here.
 * - `seen`: every key that cost an ECDH and whose datagram was refused (an accepted knock
 *   needs no entry: its accepted key refuses every later copy first), with the point's Y,
 *   its AES key and IV (so a datagram repeating the key costs one AES decryption, not an
 *   ECDH), and what became of its last few ciphertexts (so an exact copy is dropped before
 *   any cryptography). Anyone can fill this tier, so it never refuses a datagram that could
 *   still be accepted. It remembers only outcomes the bytes fix (a ciphertext that does not
 *   decrypt, frame or verify, or asks for a port the certificate does not grant, fails the
 *   same way every time); for an authentic knock, the address and timestamp it binds,
 *   checked again against each copy's source and the clock; and that the key belongs to an
 *   authentic knock, after which any *other* ciphertext with it is refused: only whoever
 *   holds the ephemeral private key (the client) could make a second authentic one. When
 *   full, the key used longest ago is forgotten; its next datagram costs an ECDH again.
 *
 * A key is kept 2 × threshold + margin seconds (src/constants.ts REPLAY_MARGIN_SECONDS); a
 * seen key in use is kept longer.
 */

export interface ReplayCacheOptions {
  readonly maxSeen?: number;
  readonly maxVerified?: number;
  /** Accepted keys one certificate may hold inside the window. */
  readonly maxVerifiedPerCertificate?: number;
}

/** A ciphertext that failed a check its bytes decide. */
export interface RememberedReject {
  /** `ciphertextDigest`. */
  readonly digest: string;
  /** The IP family it was read under (the address field is read by it). */
  readonly family: 4 | 6;
  readonly reject: Reject;
  /** Set when the outcome holds only under this trust store (`untrusted-certificate`). */
  readonly trust?: CertificateVerifier;
}

/** The one authentic ciphertext of a key: decrypted, a trusted certificate, a good signature. */
export interface AuthenticKnock {
  readonly digest: string;
  /** The family `address` was read under. */
  readonly family: 4 | 6;
  /** The address it binds, canonical (RFC 5952), compared as it is with a source's. */
  readonly address: string;
  readonly timestamp: number;
  /** Set when a later check its bytes decide failed (`not-granted`). */
  readonly refused: Reject | undefined;
}

/** One key of the seen tier (kept small: there may be REPLAY_SEEN_MAX_KEYS of them). */
export interface SeenPoint extends Expiring {
  /** Y of the point that was checked, 32 latin1 characters. */
  readonly y: string;
  /** Its AES key and IV as one 32-character latin1 string; `null`: that point is not on the curve. */
  readonly keys: string | null;
  authentic: AuthenticKnock | undefined;
  /** The last few other ciphertexts that failed, oldest first. */
  rejects: RememberedReject[] | undefined;
}

interface AcceptedKey extends Expiring {
  /** Id of the certificate whose knock it was. */
  readonly owner: string;
}

/** Why `markVerified` did not record a key. */
export type MarkResult = 'recorded' | 'replayed' | 'full' | 'over-quota';

const AES_KEY_LENGTH = 16;
const X_OFFSET = 1; // after the 0x04 prefix (SEC 1 §2.3.3)
const COORDINATE_LENGTH = P256_COORDINATE_LENGTH;

function coordinate(point: Uint8Array, offset: number): string {
  const start = Math.min(point.length, offset);
  return Buffer.from(point.buffer, point.byteOffset + start, Math.min(COORDINATE_LENGTH, point.length - start)).toString('latin1');
}

/** The key id of a 65-byte SEC 1 point: its X coordinate as a 32-character string. */
export function ephemeralKeyId(point: Uint8Array): string {
  return coordinate(point, X_OFFSET);
}

/** The Y coordinate of a 65-byte SEC 1 point as a 32-character string. */
export function ephemeralPointY(point: Uint8Array): string {
  return coordinate(point, X_OFFSET + COORDINATE_LENGTH);
}

/**
 * What identifies one ciphertext among those with a key: its SHA-256 as a 32-character
 * latin1 ('binary') string. The outcome of opening a datagram is fixed by its ciphertext
 * and key (the header's version and the point's sign do not change it). An attacker would
 * need a second preimage of a ciphertext it did not make to have its junk taken for it.
 */
export function ciphertextDigest(ciphertext: Uint8Array): string {
  return createHash('sha256').update(ciphertext).digest('binary');
}

/**
 * The AES key and IV of a point whose X is a seen key: the same point, or its mirror
 * (x, p − y), has them; any other Y is off the curve (a valid X has exactly the two points
 * ±P), which needs no ECDH to tell. `undefined`: not known without one (the point first seen
 * with this X was not on the curve, and this is another).
 */
export function seenKeysFor(seen: SeenPoint, y: string): KnockKeys | 'off-curve' | undefined {
  const match = matchPoint(seen, y);
  if (match !== 'same' || seen.keys === null) return match === 'same' ? 'off-curve' : match;
  const bytes = Buffer.from(seen.keys, 'latin1');
  return { key: bytes.subarray(0, AES_KEY_LENGTH), iv: bytes.subarray(AES_KEY_LENGTH) };
}

/**
 * How a point with a seen key's X stands to the point seen: `same` (that point or its
 * mirror: the same key; for a point seen off the curve, that very point again),
 * `off-curve`, or `undefined` (not known without an ECDH).
 */
export function matchPoint(seen: SeenPoint, y: string): 'same' | 'off-curve' | undefined {
  if (seen.keys === null) return y === seen.y ? 'same' : undefined;
  return y === seen.y || isMirror(y, seen.y) ? 'same' : 'off-curve';
}

function isMirror(a: string, b: string): boolean {
  return isMirrorY(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

function packKeys(keys: KnockKeys): string {
  return keys.key.toString('latin1') + keys.iv.toString('latin1');
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

  /**
   * The seen key `keyId`, marked as used now (so a key in use is forgotten last; moved only
   * once half its lifetime is gone, so that a flood repeating it costs no map update each).
   */
  seenPoint(keyId: string, nowMs: number, lifetimeMs: number): SeenPoint | undefined {
    const point = this.#seen.get(keyId, nowMs);
    if (point !== undefined && point.expiresAt - nowMs < lifetimeMs / 2) this.#seen.touch(keyId, point, nowMs + lifetimeMs);
    return point;
  }

  /**
   * Remembers the keys of a point that just cost an ECDH (`null`: it is not on the curve).
   * A point off the curve never replaces a valid one with its X.
   */
  rememberKeys(keyId: string, y: string, keys: KnockKeys | null, nowMs: number, lifetimeMs: number): void {
    if (keys === null && (this.#seen.get(keyId, nowMs)?.keys ?? null) !== null) return;
    const point: SeenPoint = { expiresAt: nowMs + lifetimeMs, y, keys: keys === null ? null : packKeys(keys), authentic: undefined, rejects: undefined };
    this.#seen.set(keyId, point, nowMs, true);
  }

  /** Remembers the authentic ciphertext of a seen key (there is only ever one). */
  rememberAuthentic(keyId: string, authentic: AuthenticKnock, nowMs: number): void {
    const point = this.#seen.get(keyId, nowMs);
    if (point !== undefined && point.keys !== null) point.authentic = authentic;
  }

  /** Remembers a ciphertext of a seen key that failed a check its bytes decide (the last few per key). */
  rememberReject(keyId: string, remembered: RememberedReject, nowMs: number): void {
    const point = this.#seen.get(keyId, nowMs);
    if (point === undefined || point.keys === null) return;
    if (point.rejects === undefined) {
      point.rejects = [remembered]; // an array of exactly one: most keys see one ciphertext
      return;
    }
    const known = point.rejects.findIndex((r) => r.digest === remembered.digest && r.family === remembered.family);
    if (known >= 0) point.rejects.splice(known, 1);
    else if (point.rejects.length >= REPLAY_SEEN_DATAGRAMS_PER_KEY) point.rejects.shift();
    point.rejects.push(remembered);
  }

  /** The remembered reject of ciphertext `digest` read under `family`, if any. */
  static rejectOf(point: SeenPoint, digest: string, family: 4 | 6): RememberedReject | undefined {
    return point.rejects?.find((r) => r.digest === digest && r.family === family);
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
