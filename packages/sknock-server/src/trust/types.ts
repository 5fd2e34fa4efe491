import type { KeyObject } from 'node:crypto';
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
  /** Its serial (or an intermediate's) is on the CRL in force. */
  | 'revoked'
  /** requireCrl is on and no verified CRL is held. */
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
      /** notAfter of the certificate, ms since the epoch. */
      readonly notAfter: number;
      /** The chain was verified earlier and taken from the cache. */
      readonly fromCache: boolean;
      /** SHA-256 of the certificate (base64): the key later stages may cache by. */
      readonly certificateId: string;
      /** The certificate's P-256 public key, for the signature check. */
      readonly publicKey: KeyObject;
    }
  | { readonly ok: false; readonly reason: TrustRejectReason; readonly detail: string };
