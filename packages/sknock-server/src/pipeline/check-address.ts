import { canonicalIpAddress } from '@sknock/protocol';
import { reject } from './reject.js';
import type { KnockSource, Reject, StepResult } from './types.js';

/**
 * Step 8: the address bound inside the signed request equals the datagram's source address
 * (PROTOCOL.md "What the server checks" step 6), compared in canonical form. Both sides are
 * already canonical (the protocol package formats the field per RFC 5952, and the source
 * was normalised); the slow comparison is a safety net.
 */
export function checkAddress(boundAddress: string, source: KnockSource): StepResult {
  if (boundAddress === source.address) return undefined;
  try {
    if (canonicalIpAddress(boundAddress) === canonicalIpAddress(source.address)) return undefined;
  } catch {
    // fall through: not comparable
  }
  return addressMismatch(boundAddress, source);
}

/** The reject of a knock bound to `boundAddress` that came from elsewhere. */
export function addressMismatch(boundAddress: string, source: KnockSource): Reject {
  return reject('address-mismatch', `knock binds ${boundAddress} but came from ${source.address}`);
}
