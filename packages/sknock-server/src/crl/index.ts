/** CRL lifecycle: read, fetch, verify, keep the freshest good one. */
export { CrlManager, DEFAULT_CRL_FETCH_TIMEOUT_MS } from './crl-manager.js';
export type { CrlManagerOptions, CrlSource, CrlStatus } from './crl-manager.js';
export { SknockCrlError } from './errors.js';
export type { SknockCrlErrorCode } from './errors.js';
export { parseCrl, MAX_CRL_BYTES } from './parse-crl.js';
export type { ParsedCrl } from './parse-crl.js';
export { findCrlSigner } from './verify-crl.js';
export { normaliseSerial } from './serial.js';
