import { ECDSA_SHA256, type CertificateAuthority } from './authority.js';
import { issuerName } from './issuer-name.js';
import { signingKeyFor } from './keys.js';
import { randomSerial, serialToEvenHex } from './serial.js';
import type { Validity } from './validity.js';
import { x509 } from './x509.js';

/** Signing one certificate with the CA: what every kind of issued certificate shares. */

export interface CertificateTemplate {
  readonly subject: x509.Name;
  /** The subject's public key, SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array;
  readonly validity: Validity;
  /** Extensions, in order; the authority key identifier is appended. */
  readonly extensions: readonly x509.Extension[];
  /** Serial to use (lowercase hex); default a fresh random one. */
  readonly serial?: string;
}

export interface SignedCertificateBytes {
  readonly certificate: Uint8Array;
  readonly serial: string;
}

/** Signs `template` with the CA key (ECDSA P-256, SHA-256). */
export async function signCertificate(ca: CertificateAuthority, template: CertificateTemplate): Promise<SignedCertificateBytes> {
  const serial = template.serial ?? randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialToEvenHex(serial),
    subject: template.subject,
    issuer: issuerName(ca),
    notBefore: template.validity.notBefore,
    notAfter: template.validity.notAfter,
    publicKey: template.publicKey,
    signingKey: await signingKeyFor(ca.privateKey),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [...template.extensions, new x509.AuthorityKeyIdentifierExtension(Buffer.from(ca.keyIdentifier).toString('hex'))],
  });
  return { certificate: new Uint8Array(cert.rawData), serial };
}
