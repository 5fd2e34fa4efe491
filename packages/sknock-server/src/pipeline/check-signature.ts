import { verifyKnockSignature, type OpenedKnock } from '@sknock/protocol';
import { reject } from './reject.js';
import type { Reject } from './types.js';

/** Step 5: the ECDSA P-256 signature over the request verifies with the certificate's key. */
export function checkSignature(opened: OpenedKnock): Reject | undefined {
  if (verifyKnockSignature(opened)) return undefined;
  return reject('bad-signature', 'signature does not verify with the client certificate key');
}
