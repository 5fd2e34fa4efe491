import { addressMismatch } from './check-address.js';
import { checkTimestamp } from './check-timestamp.js';
import { ciphertextDigest, ephemeralKeyId, ephemeralPointY, matchPoint, ReplayCache, type MarkResult } from './replay-cache.js';
import { isReject, reject } from './reject.js';
import type { CertificateVerifier, KnockSource, Reject, StepResult } from './types.js';

/**
 * The replay cache's two checks (src/pipeline/replay-cache.ts).
 *
 * Step 2b, `checkReplay`, before any cryptography (and again when the datagram leaves the
 * work queue, as copies ahead of it may have taught the cache something). A datagram is a
 * replay when its key belongs to a knock already accepted inside the window, or to an
 * authentic knock whose ciphertext it does not carry. A datagram with a key seen before is
 * also dropped when the key's authentic knock binds another address or is out of the time
 * window (whichever ciphertext it carries), when its ciphertext failed before in a way its
 * bytes decide (it would fail the same way again), or when its point is off the curve.
 * Anything else goes on, to be decrypted with the key's remembered AES key. So a copy raced
 * in ahead of a genuine knock costs the genuine one nothing, and a flood repeating one
 * datagram or one key costs no ECDH.
 *
 * Step 9a, `recordAcceptedKey`, just before the grant is opened: the key is recorded, or the
 * knock is refused. Nothing is accepted whose key is not recorded.
 */

/** Where a datagram's key stands in the replay cache, for the later steps. */
export interface ReplayIds {
  /** Its key in both tiers (X coordinate). */
  readonly keyId: string;
  /** Its point's Y. */
  readonly y: string;
  /** `ciphertextDigest`, when its key was seen before (else computed when needed). */
  readonly digest: string | undefined;
}

export interface ReplayContext {
  readonly thresholdSeconds: number;
  /** The trust store in force (a remembered `untrusted-certificate` holds only under it). */
  readonly trust: CertificateVerifier;
}

const REPLAYED = reject('replayed-key', 'ephemeral key of a knock already accepted inside the time window');
const FORGED = reject('replayed-key', 'ephemeral key of an authentic knock, with another ciphertext');
const OFF_CURVE = reject('decrypt-failed', 'knock does not decrypt (a point seen before)');

export function checkReplay(
  cache: ReplayCache,
  ciphertext: Uint8Array,
  ephemeralPublicKey: Uint8Array,
  source: KnockSource,
  nowMs: number,
  context: ReplayContext,
): StepResult<ReplayIds> {
  return checkReplayOf(cache, ephemeralKeyId(ephemeralPublicKey), ephemeralPointY(ephemeralPublicKey), ciphertext, source, nowMs, context);
}

/** `checkReplay` for a datagram whose key id and Y are known (step 2b run again). */
export function checkReplayOf(
  cache: ReplayCache,
  keyId: string,
  y: string,
  ciphertext: Uint8Array,
  source: KnockSource,
  nowMs: number,
  context: ReplayContext,
): StepResult<ReplayIds> {
  if (cache.isAccepted(keyId, nowMs)) return REPLAYED;
  const seen = cache.seenPoint(keyId, nowMs, ReplayCache.lifetimeMs(context.thresholdSeconds));
  if (seen === undefined) return { keyId, y, digest: undefined };
  const match = matchPoint(seen, y);
  if (match === 'off-curve' || (match === 'same' && seen.keys === null)) return OFF_CURVE;
  if (match === undefined) return { keyId, y, digest: undefined };
  const { authentic } = seen;
  if (authentic !== undefined) {
    // The key's one authentic knock is refused by what it binds, whether this datagram is
    // that knock or another ciphertext with its key: no digest needed to drop it.
    if (authentic.refused !== undefined) return again(authentic.refused);
    if (authentic.family === source.family) {
      const stale = checkTimestamp(authentic.timestamp, nowMs, context.thresholdSeconds);
      if (isReject(stale)) return stale;
      if (authentic.address !== source.address) return addressMismatch(authentic.address, source);
    }
    const digest = ciphertextDigest(ciphertext);
    return digest === authentic.digest ? { keyId, y, digest } : FORGED;
  }
  const digest = ciphertextDigest(ciphertext);
  const failed = ReplayCache.rejectOf(seen, digest, source.family);
  if (failed !== undefined && (failed.trust === undefined || failed.trust === context.trust)) return again(failed.reject);
  return { keyId, y, digest };
}

function again(r: Reject): Reject {
  return reject(r.code, `${r.detail} (the same ciphertext again)`);
}

/**
 * Step 9a: records the key of a knock that passed every check, for its certificate. The
 * knock may be accepted only when this is no reject.
 */
export function recordAcceptedKey(cache: ReplayCache, keyId: string, certificateId: string, nowMs: number, thresholdSeconds: number): StepResult {
  const result: MarkResult = cache.markVerified(keyId, certificateId, nowMs, ReplayCache.lifetimeMs(thresholdSeconds));
  switch (result) {
    case 'recorded':
      return undefined;
    case 'replayed':
      return REPLAYED;
    case 'over-quota':
      return reject('rate-limited', `this certificate already has ${cache.maxVerifiedPerCertificate} accepted knocks inside the time window`);
    case 'full':
      return reject('overloaded', 'too many accepted knocks inside the time window to remember');
  }
}
