/**
 * `@sknock/protocol/crl`: X.509 CRLs (RFC 5280 §5) decoded from DER, and the one CA among
 * the trusted ones that issued a CRL (its name, key identifier and signature).
 */
export { decodeCrl, crlDerFailure } from './crl-decode.js';
export type { DecodedCrl } from './crl-decode.js';
export { findCrlIssuer } from './crl-issuer.js';
export { SknockCrlError, isSknockCrlError } from '../errors/crl-error.js';
export type { SknockCrlErrorCode } from '../errors/crl-error.js';
export { normaliseSerial } from '../x509/serial.js';
