import { X509Certificate, type KeyObject } from 'node:crypto';
import { SknockProtocolError } from '../errors/protocol-error.js';
import { OID_EC_PUBLIC_KEY, OID_P256 } from '../oids.js';
import { p256KeyFromPoint } from '../p256.js';
import { readCertificateFields } from './certificate-fields.js';

/** The public key of a certificate. */

/** The public key of a DER certificate, any kind (throws `ERR_SKNOCK_INVALID_CERTIFICATE`). */
export function certificatePublicKey(der: Uint8Array, argument = 'certificate'): KeyObject {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (cause) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_CERTIFICATE', `${argument} is not a readable X.509 certificate`, { cause });
  }
  return cert.publicKey;
}

/**
 * The P-256 public key of a DER certificate, read straight from its SubjectPublicKeyInfo
 * (RFC 5280 §4.1.2.7) and imported as a JWK: about 55 µs, against about 120 µs to parse the
 * whole certificate with `X509Certificate` and 150 µs to import the SPKI. `null` when the
 * certificate holds another kind of key, or does not parse. The point is checked to be on
 * the curve by the import. Only the key is read: whether the certificate is trustworthy is
 * the server's chain check.
 */
export function certificateP256Key(certificate: Uint8Array): KeyObject | null {
  try {
    const fields = readCertificateFields(certificate);
    if (fields.publicKeyAlgorithm !== OID_EC_PUBLIC_KEY || fields.publicKeyParameter !== OID_P256) return null;
    return p256KeyFromPoint(fields.subjectPublicKey);
  } catch {
    return null;
  }
}
