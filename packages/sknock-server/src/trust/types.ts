import type { KeyObject } from 'node:crypto';
import type { CertificateRef } from '../crl/certificate-ref.js';
/** What the trust store says about a client certificate. */

export type TrustRejectReason =
  /** Not a readable X.509 certificate. */
  | 'unparseable'
  /** Does not chain to a trust anchor (unknown issuer, bad signature, self-signed stranger). */
  | 'untrusted'
  /** It, or a certificate of its chain, is past its notAfter. */
  | 'expired'
  /** It, or a certificate of its chain, is before its notBefore. */
  | 'not-yet-valid'
  /** Its serial (or an intermediate's) is on the CRL in force of the CA that issued it. */
  | 'revoked'
  /** requireCrl is on and a CA of its chain has no CRL in force, or only one past its nextUpdate. */
  | 'no-crl'
  /** Its key is not EC P-256 (the wire format's signature slot and ECDSA assume P-256). */
  | 'not-p256'
  /** A CA certificate, or extendedKeyUsage without clientAuth. */
  | 'not-client';

export type TrustResult =
  | {
      readonly ok: true;
      /** Subject, one line (`CN=…, O=…`). */
      readonly subject: string;
      /** Serial, lower-case hex without leading zeros. */
      readonly serial: string;
      /** Subject of the CA that issued it, one line. */
      readonly issuer: string;
      /** Issuer and serial of each link revocation applies to (the certificate first, then intermediates). */
      readonly chain: readonly CertificateRef[];
      /** notAfter of the certificate, ms since the epoch. */
      readonly notAfter: number;
      /** The chain was verified earlier and taken from the cache. */
      readonly fromCache: boolean;
      /** SHA-256 of the certificate (base64): the key later stages may cache by. */
      readonly certificateId: string;
      /** The certificate's P-256 public key, for the signature check. */
      readonly publicKey: KeyObject;
    }
  | {
      readonly ok: false;
      readonly reason: TrustRejectReason;
      readonly detail: string;
      /** Subject and serial of the certificate, when its chain verified (expired, not yet valid, revoked, no CRL). */
      readonly subject?: string;
      readonly serial?: string;
    };
