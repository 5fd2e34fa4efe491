import { SknockError } from './sknock-error.js';

/**
 * Why a CRL was not taken (`@sknock/protocol/crl` decodes and verifies; the server fetches
 * and keeps). Stable codes; messages are for the log.
 */
export type SknockCrlErrorCode =
  /** Not DER/PEM of an X.509 CRL (RFC 5280 §5.1), or a field out of place. */
  | 'ERR_SKNOCK_CRL_MALFORMED'
  /** A CRL this server cannot use: delta CRL, unknown critical extension, unsupported signature algorithm. */
  | 'ERR_SKNOCK_CRL_UNSUPPORTED'
  /** The issuer it names is not a trusted CA (or its authority key identifier is not that CA's key). */
  | 'ERR_SKNOCK_CRL_ISSUER'
  /** Its signature does not verify with the key of the CA its issuer field names. */
  | 'ERR_SKNOCK_CRL_SIGNATURE'
  /** Older than the CRL in force (thisUpdate or CRL number). */
  | 'ERR_SKNOCK_CRL_OLDER'
  /** Download failed: network error, timeout, HTTP status, too large. */
  | 'ERR_SKNOCK_CRL_FETCH';

export class SknockCrlError extends SknockError {
  declare readonly code: SknockCrlErrorCode;

  constructor(code: SknockCrlErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SknockCrlError';
  }
}

/** True when `err` is a CRL error, optionally with one given code. */
export function isSknockCrlError(err: unknown, code?: SknockCrlErrorCode): err is SknockCrlError {
  return err instanceof SknockCrlError && (code === undefined || err.code === code);
}
