import type { KeyObject } from 'node:crypto';
import { verifyKnockSignature, type OpenedKnock } from '@sknock/protocol';
import { reject } from './reject.js';
import type { StepResult } from './types.js';

/**
 * Step 5: the ECDSA P-256 signature over the request verifies with the certificate's key
 * (the one the trust store read from it when it verified the chain).
 */
export function checkSignature(opened: OpenedKnock, publicKey: KeyObject): StepResult {
  if (verifyKnockSignature(opened, publicKey)) return undefined;
  return reject('bad-signature', 'signature does not verify with the client certificate key');
}
