/**
 * `@sknock/protocol/x509`: the fields of X.509 certificates the sKnock packages read
 * (RFC 5280 §4.1), a CA's identity as CRLs name it, names as text, the serial normaliser.
 */
export { readCertificateFields } from './certificate-fields.js';
export type { CertificateExtension, CertificateFields } from './certificate-fields.js';
export { caIdentity } from './ca-identity.js';
export type { CaIdentity } from './ca-identity.js';
export { certificateP256Key, certificatePublicKey } from './certificate-key.js';
export { nameText, oneLineName } from './name-text.js';
export { normaliseSerial } from './serial.js';
export { readCertificate, readCertificates } from './read-certificates.js';
