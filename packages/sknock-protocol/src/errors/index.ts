/**
 * `@sknock/protocol/errors`: `SknockError`, the base class of every sKnock error, and the
 * error classes of the protocol layer. docs/ERRORS.md lists every code of every package.
 */
export { SknockError, isSknockError } from './sknock-error.js';
export { SknockProtocolError, isSknockProtocolError } from './protocol-error.js';
export type { SknockProtocolErrorCode } from './protocol-error.js';
export { SknockCrlError, isSknockCrlError } from './crl-error.js';
export type { SknockCrlErrorCode } from './crl-error.js';
