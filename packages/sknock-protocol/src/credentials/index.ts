/**
 * `@sknock/protocol/credentials`: a P-256 key and its certificate chain from PKCS#12 or PEM,
 * and PKCS#12 written for a key and certificate (the same functions the root exports).
 */
export { loadCredentials } from './load-credentials.js';
export type { LoadCredentialsOptions, Pkcs12CredentialOptions, PemCredentialOptions } from './load-credentials.js';
export { encodePkcs12 } from './encode-pkcs12.js';
export type { EncodePkcs12Options } from './encode-pkcs12.js';
export type { Credentials } from '../types.js';
