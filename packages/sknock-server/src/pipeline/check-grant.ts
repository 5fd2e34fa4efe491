import type { KnockProtocol } from '@sknock/protocol';
import type { GrantsCache } from './grants-cache.js';
import { reject } from './reject.js';
import type { StepResult } from './types.js';

/** Step 7: the certificate's grant otherName holds this (protocol, port) pair. */
export function checkGrant(
  cache: GrantsCache,
  certificateHash: string,
  certificate: Uint8Array,
  protocol: KnockProtocol,
  port: number,
): StepResult {
  const { grants, problem } = cache.get(certificateHash, certificate);
  for (const g of grants) if (g.protocol === protocol && g.port === port) return undefined;
  if (problem !== undefined) return reject('not-granted', `certificate grants nothing: ${problem}`);
  return reject('not-granted', `certificate does not grant ${protocol}/${port}`);
}
