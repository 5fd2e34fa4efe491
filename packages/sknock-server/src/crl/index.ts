/** CRL lifecycle: read, fetch, verify, keep the freshest good one of each CA. */
export { CrlManager, DEFAULT_CRL_FETCH_TIMEOUT_MS } from './crl-manager.js';
export type { CrlIssuerStatus, CrlManagerOptions, CrlSource, CrlStatus } from './crl-manager.js';
export { caIdentity, nameText } from '@sknock/protocol/x509';
export type { CaIdentity } from '@sknock/protocol/x509';
export type { CertificateRef } from './certificate-ref.js';
export { crlDersFrom, encodeCrlBundle, MAX_CRL_BYTES } from './crl-bundle.js';
export type { HeldCrl } from './held-crl.js';
export { SknockCrlError } from './errors.js';
export type { SknockCrlErrorCode } from './errors.js';
export { parseCrl } from './parse-crl.js';
export type { ParsedCrl } from './parse-crl.js';
export { findCrlIssuer } from '@sknock/protocol/crl';
export { normaliseSerial } from '@sknock/protocol/x509';
