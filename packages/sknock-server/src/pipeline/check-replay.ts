import { ephemeralKeyId, ReplayCache } from './replay-cache.js';
import { reject } from './reject.js';
import type { Reject } from './types.js';

/**
 * Step 2b: the datagram's ephemeral public key was seen inside the window — a replay, or
 * junk re-using one point. Otherwise the key is remembered (before the ECDH is spent on it)
 * and its id returned, to be marked verified once the signature checks out.
 */
export function checkReplay(cache: ReplayCache, ephemeralPublicKey: Uint8Array, nowMs: number, thresholdSeconds: number): string | Reject {
  const id = ephemeralKeyId(ephemeralPublicKey);
  if (cache.has(id, nowMs)) return reject('replayed-key', 'ephemeral public key already seen inside the time window');
  cache.remember(id, nowMs, ReplayCache.lifetimeMs(thresholdSeconds));
  return id;
}
