import type { KeyObject } from 'node:crypto';
import { verifyKnockSignature, type OpenedKnock } from '@sknock/protocol';
import { reject } from './reject.js';
import type { Reject } from './types.js';

/**
 * Step 5: the ECDSA P-256 signature over the request verifies with the certificate's key
 * (the one the trust store already holds, when it gives it; else read from the certificate).
 */
export function checkSignature(opened: OpenedKnock, publicKey?: KeyObject): Reject | undefined {
  if (verifyKnockSignature(opened, publicKey)) return undefined;
  return reject('bad-signature', 'signature does not verify with the client certificate key');
}
