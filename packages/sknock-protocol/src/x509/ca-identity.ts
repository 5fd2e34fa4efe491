import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { DerFailureSpec } from '../der/der-reader.js';
import { DerReader } from '../der/der-reader.js';
import { TAG } from '../der/tags.js';
import { OID_SUBJECT_KEY_IDENTIFIER } from '../oids.js';
import { readCertificateFields } from './certificate-fields.js';
import { oneLineName } from './name-text.js';

/**
 * Who a CA is, as CRLs and the certificates it signs name it: its subject Name (DER, byte for
 * byte), its subject key identifier (RFC 5280 §4.2.1.2) when it has one, and its key.
 *
 * A CRL belongs to exactly one CA: the one whose subject equals the CRL's issuer field, whose
 * key identifier equals the CRL's authority key identifier (when both are present) and whose
 * key verifies the CRL's signature. Revocation is looked up by (CA id, serial); the id is the
 * SHA-256 of the subject Name and the SubjectPublicKeyInfo, so two certificates of one CA
 * (same name, same key: a CA certificate renewed) share it, and a CA of the same name with
 * another key does not.
 */

export interface CaIdentity {
  /** SHA-256 of subject Name DER ‖ SubjectPublicKeyInfo DER, base64url: the key revocation is looked up by. */
  readonly id: string;
  /** Subject, one line (`CN=…, O=…`), for logs. */
  readonly name: string;
  /** Subject Name, DER: what a CRL's issuer field must equal. */
  readonly subject: Uint8Array;
  /** subjectKeyIdentifier, when the certificate has the extension. */
  readonly keyIdentifier: Uint8Array | undefined;
  readonly publicKey: KeyObject;
}

/**
 * The identity of a CA certificate. Throws the error `fail` chooses (by default
 * `ERR_SKNOCK_INVALID_CERTIFICATE`) when its DER cannot be walked.
 */
export function caIdentity(cert: X509Certificate, fail: DerFailureSpec = 'ERR_SKNOCK_INVALID_CERTIFICATE'): CaIdentity {
  const fields = readCertificateFields(new Uint8Array(cert.raw.buffer, cert.raw.byteOffset, cert.raw.byteLength), fail);
  let keyIdentifier: Uint8Array | undefined;
  const ski = fields.extensions.get(OID_SUBJECT_KEY_IDENTIFIER);
  if (ski !== undefined) keyIdentifier = new Uint8Array(new DerReader(ski.value, fail).content(TAG.OCTET_STRING, 'subjectKeyIdentifier'));
  const id = createHash('sha256').update(fields.subject).update(fields.subjectPublicKeyInfo).digest('base64url');
  return { id, name: oneLineName(cert.subject), subject: new Uint8Array(fields.subject), keyIdentifier, publicKey: cert.publicKey };
}
