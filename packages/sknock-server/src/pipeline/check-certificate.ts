import type { TrustRejectReason } from '../trust/types.js';
import type { RejectCode } from './reject-codes.js';
import { reject } from './reject.js';
import type { CertificateVerifier, Reject, TrustedCertificate } from './types.js';

/**
 * Step 4: the client certificate chains to the CA (directly or through the caFile
 * intermediates), is inside its validity period and not revoked, each link by the CRL of the
 * CA that issued it (src/trust/ TrustStore, which caches verified chains by hash and looks
 * revocation up at every call).
 */

const CODE_BY_REASON: Readonly<Record<TrustRejectReason, RejectCode>> = {
  unparseable: 'untrusted-certificate',
  untrusted: 'untrusted-certificate',
  'not-p256': 'untrusted-certificate',
  'not-client': 'untrusted-certificate',
  expired: 'expired',
  'not-yet-valid': 'not-yet-valid',
  revoked: 'revoked',
  'no-crl': 'no-crl',
};

/**
 * Reasons fixed by the certificate's bytes and the trust store's anchors alone: the same
 * certificate fails the same way under the same trust store, whatever the time or the CRL.
 */
const LASTING_REASONS: Readonly<Record<TrustRejectReason, boolean>> = {
  unparseable: true,
  untrusted: true,
  'not-p256': true,
  'not-client': true,
  expired: false,
  'not-yet-valid': false,
  revoked: false,
  'no-crl': false,
};

export interface CertificateReject extends Reject {
  /** True when this trust store will refuse the certificate the same way every time. */
  readonly lasting: boolean;
}

export function checkCertificate(trust: CertificateVerifier, certificate: Uint8Array, nowMs: number): TrustedCertificate | CertificateReject {
  const verdict = trust.verify(certificate, nowMs);
  if (verdict.ok) return verdict;
  return { ...reject(CODE_BY_REASON[verdict.reason], `${verdict.reason}: ${verdict.detail}`), lasting: LASTING_REASONS[verdict.reason] };
}
