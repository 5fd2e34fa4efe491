import { invalidArgument } from './errors.js';

/** RFC 5280 §5.3.1 CRL entry reason codes, by name. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** `key-compromise`, `KeyCompromise`, `keycompromise` → `keyCompromise`. */
export function parseRevocationReason(text: string): RevocationReason {
  const wanted = String(text).toLowerCase().replace(/[-_ ]/g, '');
  const found = (Object.keys(REVOCATION_REASONS) as RevocationReason[]).find((r) => r.toLowerCase() === wanted);
  if (found === undefined) {
    throw invalidArgument(`revocation reason ${JSON.stringify(text)} is not one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
  }
  return found;
}
