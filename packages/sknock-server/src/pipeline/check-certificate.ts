import type { RejectCode } from './reject-codes.js';
import { reject } from './reject.js';
import type { CertificateVerifier, Reject, TrustVerdict } from './types.js';

/**
 * Step 4: the client certificate chains to the CA (directly or through the caFile
 * intermediates), is inside its validity period and not revoked, each link by the CRL of the
 * CA that issued it (src/trust/ TrustStore, which caches verified chains by hash and looks
 * revocation up at every call).
 */

const CODE_BY_REASON: Readonly<Record<string, RejectCode>> = {
  unparseable: 'untrusted-certificate',
  untrusted: 'untrusted-certificate',
  'not-p256': 'untrusted-certificate',
  'not-client': 'untrusted-certificate',
  expired: 'expired',
  'not-yet-valid': 'not-yet-valid',
  revoked: 'revoked',
  'no-crl': 'no-crl',
};

export function checkCertificate(
  trust: CertificateVerifier,
  certificate: Uint8Array,
  nowMs: number,
): Extract<TrustVerdict, { ok: true }> | Reject {
  const verdict = trust.verify(certificate, nowMs);
  if (verdict.ok) return verdict;
  return reject(CODE_BY_REASON[verdict.reason] ?? 'untrusted-certificate', `${verdict.reason}: ${verdict.detail}`);
}
