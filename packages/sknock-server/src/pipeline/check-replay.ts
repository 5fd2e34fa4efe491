import { checkAddress } from './check-address.js';
import { checkTimestamp } from './check-timestamp.js';
import { datagramDigest, ephemeralKeyId, ephemeralPointId, ReplayCache, type MarkResult } from './replay-cache.js';
import { isReject, reject } from './reject.js';
import type { CertificateVerifier, KnockSource, Reject } from './types.js';

/**
 * The replay cache's two checks (src/pipeline/replay-cache.ts).
 *
 * Step 2b, `checkReplay`, before any cryptography: a datagram whose key belongs to a knock
 * already accepted inside the window is a replay. A datagram repeating a point seen before
 * is dropped only when it is the exact datagram of an earlier one whose outcome its bytes
 * fix (it would fail the same way again), or an authentic knock that binds another address
 * or is out of the time window; anything else goes on, to be decrypted with the point's
 * remembered keys. So a tampered copy raced in ahead of a genuine knock costs the genuine
 * one nothing, and a flood repeating one datagram or one point costs no ECDH.
 *
 * Step 9a, `recordAcceptedKey`, just before the grant is opened: the key is recorded, or the
 * knock is refused. Nothing is accepted whose key is not recorded.
 */

/** Where a datagram's key stands in the replay cache, for the later steps. */
export interface ReplayIds {
  /** Its key in the accepted tier (X coordinate). */
  readonly keyId: string;
  /** Its key in the seen tier (the whole point). */
  readonly pointId: string;
  /** SHA-256 of the datagram, when its point was seen before (else computed when needed). */
  readonly digest?: string;
}

export interface ReplayContext {
  readonly thresholdSeconds: number;
  /** The trust store in force (a remembered `untrusted-certificate` holds only under it). */
  readonly trust: CertificateVerifier;
}

const REPLAYED = reject('replayed-key', 'ephemeral key of a knock already accepted inside the time window');

/** The reject of a datagram found in the accepted tier (a copy that waited in the queue, too). */
export function replayedKey(): Reject {
  return REPLAYED;
}

export function checkReplay(
  cache: ReplayCache,
  datagram: Uint8Array,
  ephemeralPublicKey: Uint8Array,
  source: KnockSource,
  nowMs: number,
  context: ReplayContext,
): ReplayIds | Reject {
  const keyId = ephemeralKeyId(ephemeralPublicKey);
  if (cache.isAccepted(keyId, nowMs)) return REPLAYED;
  const pointId = ephemeralPointId(ephemeralPublicKey);
  const seen = cache.seenPoint(pointId, nowMs, ReplayCache.lifetimeMs(context.thresholdSeconds));
  if (seen === undefined) return { keyId, pointId };
  if (seen.keys === null) return reject('decrypt-failed', 'knock does not decrypt (a point seen before)');
  const digest = datagramDigest(datagram);
  const verdict = ReplayCache.verdictOf(seen, digest);
  if (verdict !== undefined && verdict.family === source.family) {
    if (verdict.kind === 'reject') {
      if (verdict.trust === undefined || verdict.trust === context.trust) return reject(verdict.reject.code, `${verdict.reject.detail} (the same datagram again)`);
    } else {
      const stale = checkTimestamp(verdict.timestamp, nowMs, context.thresholdSeconds);
      if (isReject(stale)) return stale;
      const mismatch = checkAddress(verdict.address, source);
      if (mismatch !== undefined) return mismatch;
    }
  }
  return { keyId, pointId, digest };
}

/**
 * Step 9a: records the key of a knock that passed every check, for its certificate. The
 * knock may be accepted only when this returns undefined.
 */
export function recordAcceptedKey(cache: ReplayCache, keyId: string, certificateId: string, nowMs: number, thresholdSeconds: number): Reject | undefined {
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
