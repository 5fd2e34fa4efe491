/**
 * A certificate as a CRL names it: the CA that issued it and its serial. The trust store
 * gives one for every link of a verified chain that revocation applies to (the client
 * certificate and each intermediate, not the trust anchor); the CRL manager answers by it,
 * and the grant keeper keeps them with each grant so that a new CRL can close it.
 */
export interface CertificateRef {
  /** `CaIdentity.id` of the issuing CA. */
  readonly issuerId: string;
  /** The issuing CA's subject, one line. */
  readonly issuer: string;
  /** Serial, normalised (`normaliseSerial`). */
  readonly serial: string;
  /** The certificate's subject, one line. */
  readonly subject: string;
}
